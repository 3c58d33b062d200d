// The direct GET path of the S3 store against a scripted local HTTP server: what it sends
// (a SigV4 signature checked here by an independent implementation), which answers it
// keeps, and which it hands to the SDK (whose requests carry its user agent).
import { createHash, createHmac } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createS3Store } from "../../src/storage/s3-store.js";
import { encodeKeyPath } from "../../src/storage/s3-signing.js";
import { expectCode } from "../helpers/object-store-contract.js";
import {
  okBody,
  s3Error,
  startScriptedServer,
  type Handler,
  type ScriptedServer,
} from "../helpers/scripted-s3.js";

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  sdk: boolean;
}

const QUICK = { baseDelayMs: 1, maxDelayMs: 5 };
const CREDS = {
  AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
  AWS_SECRET_ACCESS_KEY: "secret/example+key",
  AWS_REGION: "eu-central-1",
};
const ENV_KEYS = [
  ...Object.keys(CREDS),
  "AWS_SESSION_TOKEN",
  "AWS_DEFAULT_REGION",
  "AWS_ENDPOINT_URL",
  "AWS_ENDPOINT_URL_S3",
  "AWS_PROFILE",
  "QUILT_S3_DIRECT_GET",
];
const savedEnv = Object.fromEntries(ENV_KEYS.map((k) => [k, process.env[k]]));

function restoreEnv(): void {
  for (const [k, v] of Object.entries(savedEnv)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  delete process.env.AWS_SESSION_TOKEN;
  Object.assign(process.env, CREDS);
}

const hmac = (key: Buffer | string, data: string): Buffer => createHmac("sha256", key).update(data).digest();

/** Recomputes a SigV4 header signature from the request as received (AWS's documented algorithm). */
function sigV4Valid(req: IncomingMessage, secret: string): boolean {
  const auth = String(req.headers.authorization ?? "");
  const m =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(
      auth,
    );
  if (!m) return false;
  const [, , date = "", region = "", signedHeaders = "", signature] = m;
  const url = new URL(req.url ?? "/", "http://x");
  const query = [...url.searchParams]
    .map(([k, v]) => [encodeURIComponent(k), encodeURIComponent(v)])
    .sort(([a = ""], [b = ""]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
  const names = signedHeaders.split(";");
  const canonicalHeaders = names.map((n) => `${n}:${String(req.headers[n] ?? "").trim()}\n`).join("");
  const canonical = [
    req.method,
    url.pathname,
    query,
    canonicalHeaders,
    signedHeaders,
    String(req.headers["x-amz-content-sha256"]),
  ].join("\n");
  const scope = `${date}/${region}/s3/aws4_request`;
  const toSign = [
    "AWS4-HMAC-SHA256",
    String(req.headers["x-amz-date"]),
    scope,
    createHash("sha256").update(canonical).digest("hex"),
  ].join("\n");
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), "s3"), "aws4_request");
  return hmac(key, toSign).toString("hex") === signature;
}

describe("S3Store direct GETs (scripted server)", () => {
  let server: ScriptedServer;
  let endpoint: string;
  let script: Handler[] = [];
  let seen: Seen[] = [];
  let signaturesValid: boolean[] = [];

  beforeAll(async () => {
    restoreEnv();
    server = await startScriptedServer(
      () => script.shift(),
      (req) => {
        const sdk = /aws-sdk-js/.test(String(req.headers["user-agent"] ?? ""));
        seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, sdk });
        if (!sdk) signaturesValid.push(sigV4Valid(req, CREDS.AWS_SECRET_ACCESS_KEY));
      },
    );
    endpoint = server.endpoint;
  });
  afterAll(async () => {
    await server.close();
    restoreEnv();
  });
  afterEach(() => {
    script = [];
    seen = [];
    signaturesValid = [];
    restoreEnv();
  });

  const store = () => createS3Store({ endpoint, retry: QUICK });

  it("sends one signed GET without the SDK, path-encoding the key and pinning the version", async () => {
    script = [(_q, r) => okBody(r, "hello")];
    const s = store();
    const key = "dir/a b+c(1)!*'~é.txt";
    expect(
      (await s.get({ bucket: "bkt", key, versionId: "v/1 2" }, { range: { start: 0, end: 5 } })).toString(),
    ).toBe("hello");
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({
      method: "GET",
      sdk: false,
      url: `/bkt/${encodeKeyPath(key)}?versionId=v%2F1%202`,
    });
    expect(seen[0]?.url).toContain("/a%20b%2Bc%281%29%21%2A%27~%C3%A9.txt");
    expect(seen[0]?.headers.range).toBe("bytes=0-4");
    expect(String(seen[0]?.headers.authorization)).toContain("Credential=AKIDEXAMPLE/");
    expect(String(seen[0]?.headers.authorization)).toContain("/eu-central-1/s3/aws4_request");
    expect(signaturesValid).toEqual([true]);
    await s.close();
  });

  it("signs with the session token and the If-Match pin when there is no version", async () => {
    process.env.AWS_SESSION_TOKEN = "token-123";
    script = [(_q, r) => okBody(r, "x")];
    const s = store();
    await s.get({ bucket: "bkt", key: "k", etag: '"e1"' });
    expect(seen[0]?.headers["x-amz-security-token"]).toBe("token-123");
    expect(seen[0]?.headers["if-match"]).toBe('"e1"');
    expect(String(seen[0]?.headers.authorization)).toMatch(
      /SignedHeaders=[^,]*if-match[^,]*x-amz-security-token/,
    );
    expect(signaturesValid).toEqual([true]);
    await s.close();
  });

  it("reads a range past the end as empty, in one request", async () => {
    script = [(_q, r) => s3Error(r, 416, "InvalidRange")];
    const s = store();
    expect((await s.get({ bucket: "bkt", key: "k" }, { range: { start: 100, end: 200 } })).length).toBe(0);
    expect(seen).toHaveLength(1);
    await s.close();
  });

  it("retries a 503 and a truncated body itself, without the SDK", async () => {
    script = [
      (_q, r) => s3Error(r, 503, "SlowDown"),
      (_q, r) => {
        r.writeHead(200, { "content-length": "10" });
        r.write("01234");
        setTimeout(() => r.socket?.destroy(), 10);
      },
      (_q, r) => okBody(r, "0123456789"),
    ];
    const s = store();
    expect((await s.get({ bucket: "bkt", key: "k" })).toString()).toBe("0123456789");
    expect(seen.map((x) => x.sdk)).toEqual([false, false, false]);
    await s.close();
  });

  it("gives a 4xx answer to the SDK to map, and keeps going direct for that bucket", async () => {
    script = [
      (_q, r) => s3Error(r, 404, "NoSuchKey"),
      (_q, r) => s3Error(r, 404, "NoSuchKey"),
      (_q, r) => okBody(r, "ok"),
    ];
    const s = store();
    await expectCode(s.get({ bucket: "bkt", key: "missing" }), "ENOTFOUND");
    expect(await s.get({ bucket: "bkt", key: "there" })).toEqual(Buffer.from("ok"));
    expect(seen.map((x) => x.sdk)).toEqual([false, true, false]);
    await s.close();
  });

  it("leaves a bucket that answers with a redirect or a wrong-region 400 to the SDK", async () => {
    script = [
      (_q, r) => s3Error(r, 301, "PermanentRedirect"),
      (_q, r) => okBody(r, "via sdk"),
      (_q, r) => okBody(r, "via sdk again"),
      (_q, r) => s3Error(r, 400, "AuthorizationHeaderMalformed"),
      (_q, r) => okBody(r, "other bucket via sdk"),
      (_q, r) => okBody(r, "other bucket via sdk again"),
    ];
    const s = store();
    expect((await s.get({ bucket: "moved", key: "k" })).toString()).toBe("via sdk");
    expect((await s.get({ bucket: "moved", key: "k2" })).toString()).toBe("via sdk again");
    expect((await s.get({ bucket: "elsewhere", key: "k" })).toString()).toBe("other bucket via sdk");
    expect((await s.get({ bucket: "elsewhere", key: "k" })).toString()).toBe("other bucket via sdk again");
    expect(seen.map((x) => x.sdk)).toEqual([false, true, true, false, true, true]);
    await s.close();
  });

  it("keeps going direct after a connection that failed before any answer; not after an answer the SDK got past", async () => {
    script = [
      (q) => q.socket.destroy(),
      (_q, r) => okBody(r, "sdk read it"),
      (_q, r) => okBody(r, "direct again"),
      (_q, r) => s3Error(r, 403, "AccessDenied"),
      (_q, r) => okBody(r, "the sdk could"),
      (_q, r) => okBody(r, "sdk from now on"),
    ];
    const s = store();
    expect((await s.get({ bucket: "bkt", key: "k" })).toString()).toBe("sdk read it");
    expect((await s.get({ bucket: "bkt", key: "k" })).toString()).toBe("direct again");
    expect((await s.get({ bucket: "special", key: "k" })).toString()).toBe("the sdk could");
    expect((await s.get({ bucket: "special", key: "k" })).toString()).toBe("sdk from now on");
    expect(seen.map((x) => x.sdk)).toEqual([false, true, false, false, true, true]);
    await s.close();
  });

  it("is off with QUILT_S3_DIRECT_GET=0", async () => {
    process.env.QUILT_S3_DIRECT_GET = "0";
    script = [(_q, r) => okBody(r, "x")];
    const s = store();
    await s.get({ bucket: "bkt", key: "k" });
    expect(seen.map((x) => x.sdk)).toEqual([true]);
    await s.close();
  });
});
