// The S3 store against the run's moto server: the shared contract, plus what only a real
// S3 API shows: >1000-key paging, server-side multipart copies, S3's own checksums, and
// retries through a proxy that answers 503 before letting requests through.
import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createS3Store, type S3StoreOptions } from "../../src/storage/s3-store.js";
import { forEachLimited } from "../../src/limiter.js";
import { collect, expectCode, objectStoreContract } from "../helpers/object-store-contract.js";
import { s3TestEnv, uniquePrefix } from "../helpers/s3.js";

const env = s3TestEnv();
const MIB = 1024 * 1024;
/** Fast retries: the tests are about whether retries happen, not how long they wait. */
const QUICK_RETRY = { baseDelayMs: 5, maxDelayMs: 50 };

function store(opts: S3StoreOptions = {}): ReturnType<typeof createS3Store> {
  return createS3Store({ endpoint: env.endpoint, retry: QUICK_RETRY, ...opts });
}

objectStoreContract({
  name: "s3 (moto)",
  make: async (knobs = {}) => ({
    store: store(knobs),
    bucket: env.bucket,
    prefix: `${uniquePrefix("contract")}/`,
  }),
  versioned: true,
  // S3's smallest part is 5 MiB; objects stay at a few MiB so moto keeps up.
  multipart: { threshold: 5 * MIB, partSize: 5 * MIB, etagHasPartCount: true },
  multipartCopy: true,
  reportsSha256: true,
});

describe("S3Store on moto", () => {
  it("pages through more than 1000 keys with the default page size", async () => {
    const s = store();
    const prefix = `${uniquePrefix("paging")}/`;
    const keys = Array.from({ length: 1100 }, (_, i) => `${prefix}${String(i).padStart(4, "0")}`);
    await forEachLimited(keys, 16, async (key) => {
      await s.put({ bucket: env.bucket, key }, "x");
    });
    const listed = await collect(s.list(env.bucket, prefix));
    expect(listed.map((e) => (e.kind === "object" ? e.key : e.prefix))).toEqual(keys);
    await s.close();
  });

  it("reads from a second bucket and reports a missing bucket as ENOTFOUND", async () => {
    const s = store();
    const key = `${uniquePrefix("other")}/k`;
    await s
      .copy({ bucket: env.bucket, key: "nope" }, { bucket: env.otherBucket, key })
      .catch(() => undefined);
    await s.put({ bucket: env.otherBucket, key }, "other");
    expect(await s.get({ bucket: env.otherBucket, key })).toEqual(Buffer.from("other"));
    await expectCode(s.get({ bucket: "no-such-bucket-here", key }), "ENOTFOUND");
    await s.close();
  });

  it("returns S3's SHA-256 checksum from puts and copies", async () => {
    const s = store();
    const key = `${uniquePrefix("sum")}/k`;
    const put = await s.put({ bucket: env.bucket, key }, "hello");
    // base64(sha256("hello"))
    expect(put.checksumSha256).toBe("LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=");
    const copy = await s.copy({ bucket: env.bucket, key }, { bucket: env.bucket, key: `${key}-copy` });
    expect(copy.checksumSha256).toBe(put.checksumSha256);
    await s.close();
  });

  it("uses a custom endpoint from AWS_ENDPOINT_URL with path-style addressing", async () => {
    const saved = process.env.AWS_ENDPOINT_URL;
    process.env.AWS_ENDPOINT_URL = env.endpoint;
    try {
      const s = createS3Store({ retry: QUICK_RETRY });
      const key = `${uniquePrefix("envep")}/k`;
      await s.put({ bucket: env.bucket, key }, "via env");
      expect(await s.get({ bucket: env.bucket, key })).toEqual(Buffer.from("via env"));
      await s.close();
    } finally {
      if (saved === undefined) delete process.env.AWS_ENDPOINT_URL;
      else process.env.AWS_ENDPOINT_URL = saved;
    }
  });

  describe("through a proxy that answers 503 first", () => {
    let proxy: Server;
    let proxyUrl: string;
    let failuresLeft = 0;
    let seen = 0;

    beforeAll(async () => {
      const target = new URL(env.endpoint);
      proxy = createServer((req, res) => {
        seen++;
        if (failuresLeft > 0) {
          failuresLeft--;
          req.resume();
          res.writeHead(503, { "content-type": "application/xml" });
          res.end("<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>");
          return;
        }
        const upstream = httpRequest(
          {
            host: target.hostname,
            port: target.port,
            method: req.method,
            path: req.url,
            headers: req.headers,
          },
          (up) => {
            res.writeHead(up.statusCode ?? 502, up.headers);
            up.pipe(res);
          },
        );
        upstream.on("error", () => res.destroy());
        req.pipe(upstream);
      });
      await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
      proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((resolve) => proxy.close(() => resolve())));

    it("retries 503 SlowDown on put and get, then succeeds", async () => {
      const s = createS3Store({ endpoint: proxyUrl, retry: QUICK_RETRY });
      const key = `${uniquePrefix("proxy")}/k`;
      failuresLeft = 2;
      seen = 0;
      await s.put({ bucket: env.bucket, key }, "through the proxy");
      expect(seen).toBe(3);
      failuresLeft = 2;
      seen = 0;
      expect(await s.get({ bucket: env.bucket, key }, { range: { start: 0, end: 7 } })).toEqual(
        Buffer.from("through"),
      );
      expect(seen).toBe(3);
      failuresLeft = 10;
      await expectCode(s.head({ bucket: env.bucket, key }), "ESTORAGE");
      failuresLeft = 0;
      await s.close();
    });
  });
});
