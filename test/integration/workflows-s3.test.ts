// Workflows on an S3 registry (the run's moto server), against the real quilt3: a bucket of
// its own holds .quilt/workflows/config.yml (quilt3's format) and two JSON Schemas in S3.
// Every refusal is checked against quilt3's own refusal of the same package (same message),
// a refused push copies nothing, and an accepted push records the workflow exactly as
// quilt3 does: same top hash, same header bytes, and quilt3 browses it.
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PackageBuilder } from "../../src/index.js";
import { CliSession } from "../helpers/cli-builder.js";
import { createVersionedBucket } from "../helpers/moto-server.js";
import { runQuilt3Json } from "../helpers/quilt3.js";
import { cleanupAll, newContext, tempRoot, usecaseEnv } from "../helpers/usecase-support.js";

const env = usecaseEnv();
const bucket = `quilt-wf-${randomBytes(4).toString("hex")}`;
const registry = `s3://${bucket}`;
const ctx = newContext(env.endpoint);
afterAll(cleanupAll);

const CONFIG = `version: "1"
is_workflow_required: true
workflows:
  curated:
    name: Curated
    metadata_schema: owner
  sized:
    name: Sized
    entries_schema: small
  named:
    name: Named
    handle_pattern: ^team/
    is_message_required: true
schemas:
  owner:
    url: s3://${bucket}/schemas/owner.json
  small:
    url: s3://${bucket}/schemas/small.json
`;
const OWNER_SCHEMA = '{"type": "object", "required": ["owner"], "properties": {"owner": {"type": "string"}}}';
const SMALL_SCHEMA =
  '{"type": "array", "items": {"type": "object", "properties": {"size": {"maximum": 1000}}}}';

beforeAll(async () => {
  await createVersionedBucket(env.endpoint, bucket);
  const s3 = ctx.stores.s3();
  await s3.put({ bucket, key: "schemas/owner.json" }, OWNER_SCHEMA);
  await s3.put({ bucket, key: "schemas/small.json" }, SMALL_SCHEMA);
  await s3.put({ bucket, key: ".quilt/workflows/config.yml" }, CONFIG);
});

interface Quilt3Attempt {
  meta?: unknown;
  message?: string;
  /** Absent: quilt3's default (`...`); null: None. */
  workflow?: string | null;
}

/** quilt3 pushes `dir` as `name` once per attempt, in one process; each top hash, or error text. */
async function quilt3Push(
  name: string,
  dir: string,
  attempts: Quilt3Attempt[],
): Promise<{ top_hash?: string; error?: string }[]> {
  return runQuilt3Json(
    `import contextlib
from quilt3 import Package
out = []
for a in ARGS["attempts"]:
    p = Package()
    p.set_dir("", ARGS["dir"])
    if "meta" in a: p.set_meta(a["meta"])
    kw = {"workflow": a["workflow"]} if "workflow" in a else {}
    try:
        with contextlib.redirect_stdout(sys.stderr):
            top = p.push(ARGS["name"], registry=ARGS["registry"], message=a.get("message"), force=True, **kw).top_hash
        out.append({"top_hash": top})
    except Exception as e:
        out.append({"error": str(e)})
print(json.dumps(out))`,
    { name, dir, registry, attempts },
    { env: env.env },
  );
}

/** The error texts of quilt3's attempts. */
async function quilt3Errors(
  name: string,
  dir: string,
  attempts: Quilt3Attempt[],
): Promise<(string | undefined)[]> {
  return (await quilt3Push(name, dir, attempts)).map((r) => r.error);
}

/** A workspace of `name` holding `files`, for `quilt` commands against the workflow bucket. */
async function workspace(
  name: string,
  files: Record<string, Buffer>,
): Promise<{ q: CliSession; data: string }> {
  const root = tempRoot("wf");
  const data = join(root, "data");
  mkdirSync(data);
  for (const [k, body] of Object.entries(files)) writeFileSync(join(data, k), body);
  const q = new CliSession(root, env.env);
  await q.ok("init", name, "--registry", registry);
  await q.ok("add", "data", ".");
  return { q, data };
}

async function keysUnder(prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of ctx.stores.s3().list(bucket, prefix)) if (e.kind === "object") out.push(e.key);
  return out;
}

/** "Error: MESSAGE\nhint: HINT\n" of a refused command. */
function refusal(stderr: string): { message: string; hint: string } {
  const m = /^Error: (.*)\nhint: (.*)\n$/s.exec(stderr);
  expect(m, stderr).not.toBeNull();
  return { message: m?.[1] as string, hint: m?.[2] as string };
}

// Each test runs up to five CLI commands and a quilt3 process one after another: on a busy
// shared 2-core machine that took 40 s, so the limit is above vitest's default 60 s.
describe("a registry's workflows config on S3, as quilt3 enforces it", { timeout: 180_000 }, () => {
  it("refuses a push without a workflow, or with an unknown one, with quilt3's messages, copying nothing", async () => {
    const { q, data } = await workspace("ns/refused", { "a.csv": Buffer.from("x,y\n1,2\n") });
    const none = await q.run("push", "--prefix", "refused/v1", "-m", "first");
    expect(none.code).toBe(9);
    expect(refusal(none.stderr).hint).toContain("--workflow ID (one of: curated, sized, named)");
    // --workflow '' is quilt3's workflow=None, which this config does not allow either.
    const empty = await q.run("push", "--prefix", "refused/v1", "--workflow", "");
    const unknown = await q.run("push", "--prefix", "refused/v1", "--workflow", "nope");
    expect([empty.code, unknown.code]).toEqual([9, 9]);
    const mine = [none, empty, unknown].map((r) => refusal(r.stderr).message);
    expect(mine).toEqual([
      "Workflow required, but none specified.",
      "Workflow required, but none specified.",
      "There is no 'nope' workflow in config.",
    ]);
    expect(
      await quilt3Errors("ns/refused", data, [
        { message: "first" },
        { workflow: null },
        { workflow: "nope" },
      ]),
    ).toEqual(mine);
    expect(await keysUnder("refused/")).toEqual([]);
    expect(await keysUnder(".quilt/named_packages/ns/refused/")).toEqual([]);
  });

  it("refuses a push without the message, or under the name, that a workflow requires, as quilt3 does", async () => {
    const { q, data } = await workspace("ns/unnamed", { "a.csv": Buffer.from("x\n") });
    const noMessage = await q.run("push", "--prefix", "unnamed/v1", "--workflow", "named");
    const badName = await q.run("push", "--prefix", "unnamed/v1", "--workflow", "named", "-m", "m");
    const mine = [noMessage, badName].map((r) => refusal(r.stderr).message);
    // The message is checked first, as in quilt3.
    expect(mine).toEqual([
      "Commit message is required by workflow, but none was provided.",
      "Package name doesn't match required pattern.",
    ]);
    expect(
      await quilt3Errors("ns/unnamed", data, [{ workflow: "named" }, { workflow: "named", message: "m" }]),
    ).toEqual(mine);
    expect(await keysUnder("unnamed/")).toEqual([]);
  });

  it("refuses metadata that fails the workflow's schema, naming the field, as quilt3 does", async () => {
    const { q, data } = await workspace("ns/meta", { "a.csv": Buffer.from("a\n") });
    await q.ok("set-meta", ".", '{"owner": 3}');
    const typed = await q.run("push", "--prefix", "meta/v1", "--workflow", "curated", "-m", "m");
    expect(typed.code).toBe(9);
    const { message, hint } = refusal(typed.stderr);
    expect(message).toBe("Metadata failed validation: 3 is not of type 'string'.");
    const schemaVersion = (await ctx.stores.s3().head({ bucket, key: "schemas/owner.json" })).versionId;
    expect(hint).toBe(
      `field owner of the package metadata does not match the workflow's schema s3://${bucket}/schemas/owner.json?versionId=${schemaVersion}`,
    );
    await q.ok("set-meta", ".", '{"team": "vision"}');
    const missing = await q.run("push", "--prefix", "meta/v1", "--workflow", "curated", "-m", "m");
    expect(refusal(missing.stderr).message).toBe(
      "Metadata failed validation: 'owner' is a required property.",
    );
    expect(
      await quilt3Errors("ns/meta", data, [
        { meta: { owner: 3 }, workflow: "curated" },
        { meta: { team: "vision" }, workflow: "curated" },
      ]),
    ).toEqual([message, refusal(missing.stderr).message]);
    expect(await keysUnder("meta/")).toEqual([]);
  });

  it("refuses entries that fail the workflow's entries_schema, naming the entry, as quilt3 does", async () => {
    const files = { "big.bin": Buffer.alloc(2000, 1), "small.bin": Buffer.alloc(10, 2) };
    const { q, data } = await workspace("ns/entries", files);
    const r = await q.run("push", "--prefix", "entries/v1", "--workflow", "sized");
    expect(r.code).toBe(9);
    const { message, hint } = refusal(r.stderr);
    expect(message).toBe("Package entries failed validation: 2000 is greater than the maximum of 1000.");
    expect(hint).toMatch(/^field size of entry 'big\.bin' does not match the workflow's schema s3:\/\//);
    expect(await quilt3Errors("ns/entries", data, [{ workflow: "sized" }])).toEqual([message]);
    expect(await keysUnder("entries/")).toEqual([]);
  });

  it("records an accepted workflow as quilt3 does: same top hash and header bytes, and quilt3 browses it", async () => {
    const files = { "a.csv": Buffer.from("a,b\n1,2\n"), "b.csv": Buffer.from("c\n3\n") };
    const { q, data } = await workspace("ns/accepted", files);
    const [theirs] = await quilt3Push("ns/accepted", data, [
      { meta: { owner: "me", n: 1.5 }, message: "curated v1", workflow: "curated" },
    ]);
    expect(theirs?.error).toBeUndefined();
    // Same metadata on both sides (1.5: a float both write alike), then the two headers.
    await q.ok("set-meta", ".", '{"owner": "me", "n": 1.5}');
    const out = await q.ok("push", "--prefix", "accepted/v1", "-m", "curated v1", "--workflow", "curated");
    const top = /Tophash: ([0-9a-f]{64})/.exec(out)?.[1];
    expect(top).toBe(theirs?.top_hash);

    const manifestKey = `.quilt/packages/${top}`;
    const oursHeader = (await ctx.stores.s3().get({ bucket, key: manifestKey }))
      .toString("utf8")
      .split("\n")[0];
    const q3 = await runQuilt3Json<{ header: string; workflow: unknown; top_hash: string }>(
      `import quilt3, io, contextlib
with contextlib.redirect_stdout(sys.stderr):
    p = quilt3.Package.browse(ARGS["name"], registry=ARGS["registry"])
buf = io.StringIO()
p.dump(buf)
print(json.dumps({"header": buf.getvalue().split("\\n")[0], "workflow": p._meta.get("workflow"), "top_hash": p.top_hash}))`,
      { name: "ns/accepted", registry },
      { env: env.env },
    );
    expect(q3.top_hash).toBe(top);
    expect(oursHeader).toBe(q3.header);
    const configVersion = (await ctx.stores.s3().head({ bucket, key: ".quilt/workflows/config.yml" }))
      .versionId;
    const schemaVersion = (await ctx.stores.s3().head({ bucket, key: "schemas/owner.json" })).versionId;
    expect(configVersion).toBeTruthy();
    expect(q3.workflow).toEqual({
      id: "curated",
      config: `s3://${bucket}/.quilt/workflows/config.yml?versionId=${configVersion}`,
      schemas: { owner: `s3://${bucket}/schemas/owner.json?versionId=${schemaVersion}` },
    });
    expect(oursHeader).toBe(
      `{"version": "v0", "user_meta": {"owner": "me", "n": 1.5}, "workflow": {"id": "curated", ` +
        `"config": "s3://${bucket}/.quilt/workflows/config.yml?versionId=${configVersion}", ` +
        `"schemas": {"owner": "s3://${bucket}/schemas/owner.json?versionId=${schemaVersion}"}}, "message": "curated v1"}`,
    );
  });

  it("the library: a workflow named for a registry without a config is refused, as quilt3 refuses it", async () => {
    const b = new PackageBuilder("ns/noconfig", { registry: env.registry, session: ctx });
    await expect(b.checkWorkflow({ workflow: "curated" })).rejects.toMatchObject({
      code: "EWORKFLOW",
      message: "'curated' workflow is specified, but no workflows config exist.",
    });
    await expect(b.checkWorkflow({ workflow: null })).rejects.toMatchObject({
      message: "None workflow is specified, but no workflows config exist.",
    });
    await b.checkWorkflow();
  });
});
