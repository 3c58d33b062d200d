// The S3 store's retry and error mapping against a scripted local HTTP server: real SDK,
// real sockets, no S3. Each test scripts the server's answers and checks what the store
// made of them and how many requests it sent.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { isQuiltError, type QuiltError } from "../../src/errors.js";
import { backoffDelayMs, classifyFailure, withRetry } from "../../src/storage/retry.js";
import { resolveRegion } from "../../src/storage/s3-client.js";
import { configuredEndpoint } from "../../src/storage/s3-endpoint.js";
import { copySource, partSizeFor } from "../../src/storage/s3-multipart.js";
import { createS3Store } from "../../src/storage/s3-store.js";
import { expectCode } from "../helpers/object-store-contract.js";
import {
  okBody,
  s3Error,
  startScriptedServer,
  type Handler,
  type ScriptedServer,
} from "../helpers/scripted-s3.js";

const QUICK = { baseDelayMs: 1, maxDelayMs: 5 };
const ENV_KEYS = [
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "AWS_REGION",
  "AWS_DEFAULT_REGION",
  "AWS_ENDPOINT_URL",
  "AWS_ENDPOINT_URL_S3",
  "AWS_CONFIG_FILE",
  "AWS_SHARED_CREDENTIALS_FILE",
  "AWS_PROFILE",
  "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
];
const savedEnv = Object.fromEntries(ENV_KEYS.map((k) => [k, process.env[k]]));

function restoreEnv(): void {
  for (const [k, v] of Object.entries(savedEnv)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  Object.assign(process.env, {
    AWS_ACCESS_KEY_ID: "fake",
    AWS_SECRET_ACCESS_KEY: "fake",
    AWS_REGION: "us-east-1",
  });
}

const okHead = (res: ServerResponse): void => {
  res.writeHead(200, {
    "content-length": "5",
    etag: '"abc"',
    "last-modified": new Date(0).toUTCString(),
    "x-amz-version-id": "v1",
  });
  res.end();
};

describe("S3Store retries and errors (scripted server)", () => {
  let server: ScriptedServer;
  let endpoint: string;
  let script: Handler[] = [];
  let requests: { method?: string; url?: string; headers: IncomingMessage["headers"] }[] = [];

  beforeAll(async () => {
    restoreEnv();
    server = await startScriptedServer(
      () => script.shift(),
      (req) => requests.push({ method: req.method, url: req.url, headers: req.headers }),
    );
    endpoint = server.endpoint;
  });
  afterAll(async () => {
    await server.close();
    restoreEnv();
  });
  afterEach(() => {
    script = [];
    requests = [];
    restoreEnv();
  });

  const store = (maxAttempts = 5): ReturnType<typeof createS3Store> =>
    createS3Store({ endpoint, retry: QUICK, maxAttempts });

  it("retries 503 twice, then succeeds, addressing the bucket path-style", async () => {
    script = [
      (_q, r) => s3Error(r, 503, "SlowDown"),
      (_q, r) => s3Error(r, 503, "ServiceUnavailable"),
      (_q, r) => okHead(r),
    ];
    const s = store();
    const head = await s.head({ bucket: "bkt", key: "dir/k" });
    expect(head).toMatchObject({ size: 5, etag: '"abc"', versionId: "v1" });
    expect(requests.map((r) => `${r.method} ${r.url}`)).toEqual(Array(3).fill("HEAD /bkt/dir/k"));
    await s.close();
  });

  it("retries a dropped connection and a truncated body", async () => {
    script = [
      (q) => q.socket.destroy(),
      (_q, r) => {
        r.writeHead(200, { "content-length": "10" });
        r.write("01234");
        setTimeout(() => r.socket?.destroy(), 10);
      },
      (_q, r) => okBody(r, "0123456789"),
    ];
    const s = store();
    expect(await s.get({ bucket: "bkt", key: "k" })).toEqual(Buffer.from("0123456789"));
    expect(requests).toHaveLength(3);
    await s.close();
  });

  it("gives up after maxAttempts with ESTORAGE", async () => {
    script = Array(5).fill((_q: IncomingMessage, r: ServerResponse) => s3Error(r, 500, "InternalError"));
    const s = store(3);
    await expectCode(s.get({ bucket: "bkt", key: "k" }), "ESTORAGE");
    expect(requests).toHaveLength(3);
    await s.close();
  });

  it("times out a silent answer and a body that stalls, once per attempt (not again through the SDK), then ESTORAGE with the timeout hint", async () => {
    const silent: Handler = () => undefined; // never answers; the connection stays open
    const stalls: Handler = (_q, r) => {
      r.writeHead(200, { "content-length": "10" });
      r.write("01234"); // and nothing more
    };
    script = [silent, stalls, (_q, r) => okBody(r, "0123456789")];
    const s = createS3Store({ endpoint, retry: QUICK, maxAttempts: 3, idleTimeoutMs: 200 });
    expect(await s.get({ bucket: "bkt", key: "k" })).toEqual(Buffer.from("0123456789"));
    expect(requests).toHaveLength(3);
    requests = [];
    script = [silent, silent, silent];
    const err = (await s.get({ bucket: "bkt", key: "k" }).catch((e: unknown) => e)) as QuiltError;
    expect(err).toMatchObject({
      code: "ESTORAGE",
      message: expect.stringMatching(/failed after 3 attempts.*no bytes from the server for 200 ms/),
    });
    expect(err.hint).toMatch(/stopped sending bytes.*QUILT_S3_IDLE_TIMEOUT/);
    expect(requests).toHaveLength(3);
    await s.close();
  });

  it("maps not-found and precondition answers without retrying", async () => {
    const s = store();
    const cases: [Handler, Parameters<typeof s.get>[0], string, "get" | "head"][] = [
      [(_q, r) => s3Error(r, 404, "NoSuchKey"), { bucket: "bkt", key: "k" }, "ENOTFOUND", "get"],
      [
        (_q, r) => s3Error(r, 404, "NoSuchBucket"),
        { bucket: "bkt", key: "k", versionId: "v1" },
        "ENOTFOUND",
        "get",
      ],
      [
        (_q, r) => s3Error(r, 412, "PreconditionFailed"),
        { bucket: "bkt", key: "k", etag: '"old"' },
        "ESTALE",
        "get",
      ],
      [
        (_q, r) => s3Error(r, 404, "NoSuchVersion"),
        { bucket: "bkt", key: "k", versionId: "v0" },
        "ESTALE",
        "get",
      ],
      [
        (_q, r) => s3Error(r, 400, "InvalidArgument"),
        { bucket: "bkt", key: "k", versionId: "bad" },
        "ESTALE",
        "get",
      ],
      [
        (_q, r) => {
          r.writeHead(404);
          r.end();
        },
        { bucket: "bkt", key: "k" },
        "ENOTFOUND",
        "head",
      ],
      [
        (_q, r) => {
          r.writeHead(404);
          r.end();
        },
        { bucket: "bkt", key: "k", versionId: "v0" },
        "ESTALE",
        "head",
      ],
      [
        (_q, r) => {
          r.writeHead(405);
          r.end();
        },
        { bucket: "bkt", key: "k", versionId: "v0" },
        "ESTALE",
        "head",
      ],
      [
        (_q, r) => {
          r.writeHead(412);
          r.end();
        },
        { bucket: "bkt", key: "k", etag: '"old"' },
        "ESTALE",
        "head",
      ],
      [(_q, r) => s3Error(r, 403, "AccessDenied"), { bucket: "bkt", key: "k" }, "ESTORAGE", "get"],
    ];
    for (const [handler, loc, code, op] of cases) {
      // A GET's 4xx answer is the SDK's to map: the direct path hands the request over.
      script = op === "get" ? [handler, handler] : [handler];
      requests = [];
      await expectCode(op === "get" ? s.get(loc) : s.head(loc), code as "ESTALE");
      expect(requests).toHaveLength(op === "get" ? 2 : 1);
    }
    await s.close();
  });

  it("sends the pin: VersionId, else If-Match, and a Range header", async () => {
    script = [(_q, r) => okBody(r, "abc"), (_q, r) => okBody(r, "abc")];
    const s = store();
    await s.get({ bucket: "bkt", key: "k", versionId: "v 1", etag: '"e"' }, { range: { start: 3, end: 6 } });
    await s.get({ bucket: "bkt", key: "k", etag: '"e"' });
    expect(requests[0]?.url).toMatch(/^\/bkt\/k\?versionId=v%201(&|$)/);
    expect(requests[0]?.headers["if-match"]).toBeUndefined();
    expect(requests[0]?.headers.range).toBe("bytes=3-5");
    expect(requests[1]?.headers["if-match"]).toBe('"e"');
    await s.close();
  });

  it("URL-encodes the copy source key and version", async () => {
    script = [
      (_q, r) => okHead(r),
      (_q, r) => {
        r.writeHead(200, { "content-type": "application/xml", "x-amz-version-id": "new" });
        r.end('<?xml version="1.0"?><CopyObjectResult><ETag>"abc"</ETag></CopyObjectResult>');
      },
    ];
    const s = store();
    const res = await s.copy(
      { bucket: "src", key: "dir/na\u00efve name+%?.txt", versionId: "v/1" },
      { bucket: "dst", key: "out" },
    );
    expect(res).toMatchObject({ versionId: "new", etag: '"abc"' });
    expect(requests[1]?.headers["x-amz-copy-source"]).toBe(
      "src/dir/na%C3%AFve%20name%2B%25%3F.txt?versionId=v%2F1",
    );
    expect(copySource("b", "a/b c")).toBe("b/a/b%20c");
    await s.close();
  });

  it("gives EUNREACHABLE quickly for a closed port, naming the endpoint and the env var", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    process.env.AWS_ENDPOINT_URL_S3 = `http://127.0.0.1:${port}`;
    const s = createS3Store({ retry: QUICK });
    const t0 = Date.now();
    const err = await s.head({ bucket: "bkt", key: "k" }).catch((e: unknown) => e);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(isQuiltError(err, "EUNREACHABLE")).toBe(true);
    const q = err as QuiltError;
    expect(q.message).toContain(`http://127.0.0.1:${port}`);
    expect(q.hint).toContain("AWS_ENDPOINT_URL_S3");
    await s.close();
  });

  it("uploads multipart with parts from a file and aborts the upload when a part fails", async () => {
    const dir = mkdtempSync(join(tmpdir(), "s3-mp-"));
    try {
      const file = join(dir, "f");
      writeFileSync(file, Buffer.alloc(2500, 1));
      script = [
        (_q, r) => {
          r.writeHead(200, { "content-type": "application/xml" });
          r.end(
            '<?xml version="1.0"?><InitiateMultipartUploadResult><UploadId>up1</UploadId></InitiateMultipartUploadResult>',
          );
        },
        ...Array(10).fill((_q: IncomingMessage, r: ServerResponse) => s3Error(r, 400, "InvalidPart")),
      ];
      const s = createS3Store({
        endpoint,
        retry: QUICK,
        multipartThreshold: 1000,
        partSize: 1000,
        uploadConcurrency: 1,
        checksums: false,
      });
      await expectCode(s.put({ bucket: "bkt", key: "big" }, { path: file }), "ESTORAGE");
      // (The SDK appends an x-id=<Operation> parameter; the part that matters is the prefix.)
      const sent = requests.map((r) => `${r.method} ${r.url?.replace(/&x-id=\w+$/, "")}`);
      expect(sent).toEqual([
        "POST /bkt/big?uploads=",
        "PUT /bkt/big?partNumber=1&uploadId=up1",
        "DELETE /bkt/big?uploadId=up1",
      ]);
      await s.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("retry policy", () => {
  it("draws full-jitter delays below an exponential ceiling capped at maxDelayMs", () => {
    const policy = { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 5000 };
    expect(backoffDelayMs(policy, 1, () => 0.999)).toBe(99);
    expect(backoffDelayMs(policy, 3, () => 0.999)).toBe(399);
    expect(backoffDelayMs(policy, 10, () => 0.999)).toBe(4995);
    expect(backoffDelayMs(policy, 3, () => 0)).toBe(0);
  });

  it("classifies failures", () => {
    const status = (n: number): unknown =>
      Object.assign(new Error("x"), { $metadata: { httpStatusCode: n } });
    expect(classifyFailure(status(503))).toBe("transient");
    expect(classifyFailure(status(500))).toBe("transient");
    expect(classifyFailure(status(502))).toBe("transient");
    expect(classifyFailure(status(404))).toBe("fatal");
    expect(
      classifyFailure(
        Object.assign(new Error("x"), { name: "SlowDown", $metadata: { httpStatusCode: 400 } }),
      ),
    ).toBe("transient");
    expect(classifyFailure(Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }))).toBe(
      "transient",
    );
    expect(classifyFailure(Object.assign(new Error("write EPIPE"), { code: "EPIPE" }))).toBe("transient");
    expect(classifyFailure(Object.assign(new Error("x"), { code: "ETIMEDOUT" }))).toBe("transient");
    expect(classifyFailure(Object.assign(new Error("x"), { code: "ECONNREFUSED" }))).toBe("unreachable");
    expect(classifyFailure(Object.assign(new Error("getaddrinfo ENOTFOUND x"), { code: "ENOTFOUND" }))).toBe(
      "unreachable",
    );
    expect(classifyFailure(Object.assign(new Error("x"), { name: "AbortError" }))).toBe("fatal");
  });

  it("does not retry fatal errors", async () => {
    let calls = 0;
    const boom = Object.assign(new Error("no"), { $metadata: { httpStatusCode: 403 } });
    await expect(
      withRetry(
        async () => {
          calls++;
          throw boom;
        },
        { maxAttempts: 5, ...QUICK },
      ),
    ).rejects.toBe(boom);
    expect(calls).toBe(1);
  });
});

describe("S3 client configuration", () => {
  afterEach(restoreEnv);

  it("sizes parts like quilt3: 8 MiB, doubled to stay within 10,000 parts", () => {
    const MIB = 1024 * 1024;
    expect(partSizeFor(20 * MIB, 8 * MIB)).toBe(8 * MIB);
    expect(partSizeFor(10_000 * 8 * MIB, 8 * MIB)).toBe(8 * MIB);
    expect(partSizeFor(10_000 * 8 * MIB + 1, 8 * MIB)).toBe(16 * MIB);
    expect(partSizeFor(100e9, 8 * MIB)).toBe(16 * MIB);
  });

  it("takes the endpoint from the option, then AWS_ENDPOINT_URL_S3, then AWS_ENDPOINT_URL", () => {
    delete process.env.AWS_ENDPOINT_URL_S3;
    delete process.env.AWS_ENDPOINT_URL;
    expect(configuredEndpoint({})).toBeUndefined();
    process.env.AWS_ENDPOINT_URL = "http://general";
    expect(configuredEndpoint({})).toEqual({ url: "http://general", source: "AWS_ENDPOINT_URL" });
    process.env.AWS_ENDPOINT_URL_S3 = "http://s3-only";
    expect(configuredEndpoint({})?.url).toBe("http://s3-only");
    expect(configuredEndpoint({ endpoint: "http://opt" })?.url).toBe("http://opt");
    process.env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS = "true";
    expect(configuredEndpoint({})).toBeUndefined();
  });

  it("resolves the region from options, env, the profile, else us-east-1", async () => {
    const dir = mkdtempSync(join(tmpdir(), "aws-config-"));
    try {
      writeFileSync(
        join(dir, "config"),
        "[default]\nregion = eu-west-3\n[profile other]\nregion = ap-south-1\n",
      );
      delete process.env.AWS_REGION;
      delete process.env.AWS_DEFAULT_REGION;
      delete process.env.AWS_PROFILE;
      process.env.AWS_CONFIG_FILE = join(dir, "config");
      process.env.AWS_SHARED_CREDENTIALS_FILE = join(dir, "credentials");
      expect(await resolveRegion({ region: "us-west-2" })).toBe("us-west-2");
      expect(await resolveRegion({})).toBe("eu-west-3");
      expect(await resolveRegion({ profile: "other" })).toBe("ap-south-1");
      process.env.AWS_DEFAULT_REGION = "ca-central-1";
      expect(await resolveRegion({})).toBe("ca-central-1");
      process.env.AWS_REGION = "sa-east-1";
      expect(await resolveRegion({})).toBe("sa-east-1");
      delete process.env.AWS_REGION;
      delete process.env.AWS_DEFAULT_REGION;
      process.env.AWS_CONFIG_FILE = join(dir, "missing");
      expect(await resolveRegion({})).toBe("us-east-1");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
