// An unreachable S3 endpoint gives a clear, fast error naming the endpoint, never a hang
// or a stack trace; nothing is written anywhere.
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Package, Session } from "../../src/index.js";
import { FAKE_AWS_ENV } from "../helpers/moto-server.js";

describe("unreachable endpoint", () => {
  it("browse fails with EUNREACHABLE and a hint naming the endpoint", async () => {
    Object.assign(process.env, FAKE_AWS_ENV);
    const cache = mkdtempSync(join(tmpdir(), "quilt-unreach-"));
    const ctx = new Session({
      cacheDir: cache,
      s3: { endpoint: "http://127.0.0.1:9", forcePathStyle: true, retry: { baseDelayMs: 1, maxDelayMs: 5 } },
    });
    const started = Date.now();
    const err = await Package.browse("ns/name", { registry: "s3://some-bucket", session: ctx }).catch(
      (e: unknown) => e as Error & { code?: string; hint?: string },
    );
    expect(err).toBeInstanceOf(Error);
    expect((err as { code?: string }).code).toBe("EUNREACHABLE");
    expect((err as { hint?: string }).hint).toMatch(/127\.0\.0\.1:9/);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(readdirSync(cache)).toEqual([]);
    await ctx.close();
  });
});
