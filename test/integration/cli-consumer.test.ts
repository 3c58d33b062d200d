// The consumer commands through the real `quilt` executable against the moto server: the
// Download transcript, the Incremental Download example, exploring, versions and errors.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";
import { consumerCliSuite } from "../helpers/cli-consumer-scenarios.js";
import { cleanupAll, newContext, usecaseEnv } from "../helpers/usecase-support.js";

afterAll(cleanupAll);

consumerCliSuite(
  "S3 registry on moto",
  () => {
    const env = usecaseEnv();
    return {
      registry: env.registry,
      registryUrl: env.registry,
      env: {
        ...env.env,
        QUILT_REGISTRY: env.registry,
        QUILT_CACHE_DIR: join(mkdtempSync(join(tmpdir(), "quilt-cli-cache-")), "cache"),
      },
      context: newContext(env.endpoint),
      exclusive: false,
    };
  },
  { usageChecks: false },
);
