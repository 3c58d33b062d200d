// Vitest global setup: one moto S3 server for the whole run, with versioned test buckets.
// Tests read the endpoint and bucket names with `inject(...)` (see test/helpers/s3.ts).
import type { TestProject } from "vitest/node";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createVersionedBucket, startMoto } from "./moto-server.js";

/** Versioned buckets: the registry bucket and a second one for cross-bucket copies. */
export const TEST_BUCKETS = ["quilt-test", "quilt-test-other"] as const;

declare module "vitest" {
  export interface ProvidedContext {
    s3Endpoint: string;
    s3Bucket: string;
    s3OtherBucket: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // Caches, logs and daemon state of everything the tests start stay out of the user's home.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
  const scratch = mkdtempSync(join(tmpdir(), "quilt-test-run-"));
  process.env.QUILT_CACHE_DIR ??= join(scratch, "cache");
  process.env.QUILT_STATE_DIR ??= join(scratch, "state");
  const moto = await startMoto();
  for (const bucket of TEST_BUCKETS) await createVersionedBucket(moto.endpoint, bucket);
  project.provide("s3Endpoint", moto.endpoint);
  project.provide("s3Bucket", TEST_BUCKETS[0]);
  project.provide("s3OtherBucket", TEST_BUCKETS[1]);
  return async () => {
    await moto.stop();
    rmSync(scratch, { recursive: true, force: true });
  };
}
