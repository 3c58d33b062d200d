// The consumer commands through the real `quilt` executable against a local-directory
// registry, with no server at all: an S3 endpoint that nothing listens on makes any
// accidental S3 request fail.
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll } from "vitest";
import { Session } from "../../src/index.js";
import { consumerCliSuite } from "../helpers/cli-consumer-scenarios.js";
import { cleanupAll, tempRoot } from "../helpers/usecase-support.js";

const contexts: Session[] = [];
afterAll(async () => {
  for (const c of contexts) await c.close();
  await cleanupAll();
});

consumerCliSuite(
  "local directory registry",
  () => {
    const root = tempRoot("cli-local");
    const registry = join(root, "registry");
    const context = new Session({ cacheDir: join(root, "publisher-cache") });
    contexts.push(context);
    return {
      registry,
      registryUrl: pathToFileURL(registry).href,
      env: {
        QUILT_REGISTRY: registry,
        QUILT_CACHE_DIR: join(root, "cli-cache"),
        AWS_ENDPOINT_URL: "http://127.0.0.1:9",
        AWS_MAX_ATTEMPTS: "1",
      },
      context,
      exclusive: true,
    };
  },
  { usageChecks: true },
);
