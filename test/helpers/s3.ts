// What a test needs to talk to the run's moto server: endpoint, buckets, fake credentials,
// and a unique key prefix so test files running in parallel never see each other's objects.
import { inject } from "vitest";
import { randomBytes } from "node:crypto";
import { FAKE_AWS_ENV } from "./moto-server.js";

export function s3TestEnv(): {
  endpoint: string;
  bucket: string;
  otherBucket: string;
  env: Record<string, string>;
} {
  const endpoint = inject("s3Endpoint");
  // The S3 store reads credentials from the standard chain, so the environment carries them.
  Object.assign(process.env, FAKE_AWS_ENV);
  return {
    endpoint,
    bucket: inject("s3Bucket"),
    otherBucket: inject("s3OtherBucket"),
    env: { ...FAKE_AWS_ENV, AWS_ENDPOINT_URL: endpoint },
  };
}

export function uniquePrefix(label: string): string {
  return `${label}-${Date.now().toString(36)}-${randomBytes(4).toString("hex")}`;
}
