// Listing with versions against servers that refuse ListObjectVersions: one without
// versioning (s3rver answers 405 MethodNotAllowed, others 501 NotImplemented) has no
// versions to pin, so its objects list as unversioned (null); a refusal for any other
// reason (no s3:ListBucketVersions permission) lists them as "version unknown", which makes
// the builder HEAD each one. Real SDK and sockets against a scripted server.
import type { IncomingMessage, ServerResponse } from "node:http";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { ListEntry } from "../../src/storage/object-store.js";
import { createS3Store } from "../../src/storage/s3-store.js";
import { s3Error, startScriptedServer, type Handler, type ScriptedServer } from "../helpers/scripted-s3.js";

const CREDS = {
  AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
  AWS_SECRET_ACCESS_KEY: "secret/example+key",
  AWS_REGION: "eu-central-1",
};
const saved = Object.fromEntries(Object.keys(CREDS).map((k) => [k, process.env[k]]));

function listing(res: ServerResponse, keys: string[]): void {
  const contents = keys
    .map((k) => `<Contents><Key>${k}</Key><Size>3</Size><ETag>"e"</ETag></Contents>`)
    .join("");
  const body = `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>bkt</Name><Prefix>p/</Prefix><KeyCount>${keys.length}</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>${contents}</ListBucketResult>`;
  res.writeHead(200, {
    "content-type": "application/xml",
    "content-length": String(Buffer.byteLength(body)),
  });
  res.end(body);
}

describe("list with versions when ListObjectVersions is refused", () => {
  let server: ScriptedServer;
  let script: Handler[] = [];
  let seen: string[] = [];
  beforeAll(async () => {
    Object.assign(process.env, CREDS);
    server = await startScriptedServer(
      () => script.shift(),
      (req: IncomingMessage) => seen.push(String(req.url)),
    );
  });
  afterAll(async () => {
    await server.close();
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
  afterEach(() => {
    script = [];
    seen = [];
  });

  async function listed(): Promise<ListEntry[]> {
    const store = createS3Store({ endpoint: server.endpoint, retry: { baseDelayMs: 1, maxDelayMs: 5 } });
    const out: ListEntry[] = [];
    try {
      for await (const e of store.list("bkt", "p/", { versions: true })) out.push(e);
    } finally {
      await store.close();
    }
    return out;
  }

  for (const [status, code] of [
    [405, "MethodNotAllowed"],
    [501, "NotImplemented"],
  ] as const) {
    it(`${status} ${code}: a server without versioning, so every object is unversioned`, async () => {
      script = [(_q, r) => s3Error(r, status, code), (_q, r) => listing(r, ["p/a", "p/b"])];
      const out = await listed();
      expect(out.map((e) => e.kind === "object" && [e.key, e.versionId])).toEqual([
        ["p/a", null],
        ["p/b", null],
      ]);
      expect(seen[0]).toContain("versions");
      expect(seen[1]).toContain("list-type=2");
    });
  }

  it("403 AccessDenied: versions unknown, for the caller to ask object by object", async () => {
    script = [(_q, r) => s3Error(r, 403, "AccessDenied"), (_q, r) => listing(r, ["p/a"])];
    const out = await listed();
    expect(out).toHaveLength(1);
    expect(out[0]?.kind === "object" && out[0].versionId).toBeUndefined();
  });
});
