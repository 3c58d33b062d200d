// kill -9 of `quilt push` at chosen points, chosen from outside: a proxy in front of moto
// holds the first request of the next step and the test kills the CLI while it waits.
//   between data and manifest: the manifest PUT is held (every data object is up)
//   between manifest and tag:  the first pointer PUT is held (the manifest is up, no pointer)
//   between latest and tag:    the tag's PUT is held (timestamp and latest moved, the tag not)
// After each kill: nothing lists a version whose manifest is missing, every version listed
// browses and installs with verified bytes, the tag still names the previous version, the
// manifest already up browses by its top hash; a plain re-run of the push completes, sets
// the tag and uploads no data again.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Package, type Session } from "../../src/index.js";
import { CliSession } from "../helpers/cli-builder.js";
import { killCliAt } from "../helpers/crash-cli.js";
import { walkFiles } from "../helpers/daemon-fixtures.js";
import { startHoldProxy, type HoldProxy, type HoldRule } from "../helpers/hold-proxy.js";
import { FAKE_AWS_ENV } from "../helpers/moto-server.js";
import { pseudoRandomBytes } from "../helpers/package-fixtures.js";
import { s3TestEnv, uniquePrefix } from "../helpers/s3.js";
import { cleanupAll, newContext, tempRoot, writeTree } from "../helpers/usecase-support.js";

const s3 = s3TestEnv();
const registry = `s3://${s3.bucket}`;
const salt = uniquePrefix("pushcrash");
const name = `${salt}/data`;
const dataPrefix = `${salt}-data/v/`;
const POINTERS = `.quilt/named_packages/${name}/`;
const TAG = "prod";

interface LogRow {
  topHash: string;
  tags: string[];
}

let proxy: HoldProxy;
let lib: Session;
let q: CliSession;
let root = "";
/** The bytes of each version pushed to completion, by top hash. */
const pushed = new Map<string, Record<string, Buffer>>();
let files: Record<string, Buffer> = {};

async function log(): Promise<LogRow[]> {
  return (JSON.parse(await q.ok("log", name, "--json")) as { versions: LogRow[] }).versions;
}

async function tagged(tag: string): Promise<string | undefined> {
  return (await log()).find((v) => v.tags.includes(tag))?.topHash;
}

/** Installs `spec` into a new directory with the library (which verifies every byte) and returns what it holds. */
async function installed(spec: string): Promise<Record<string, Buffer>> {
  const dest = join(root, `install-${Math.random().toString(36).slice(2)}`);
  const pkg = await Package.browse(spec, { registry, session: lib });
  await pkg.download(dest);
  const out: Record<string, Buffer> = {};
  for (const [key, path] of await walkFiles(dest))
    if (!key.startsWith(".quilt/")) out[key] = await readFile(path);
  return out;
}

/** Every version `quilt log` lists installs with the bytes it was pushed with: nothing half-pushed is listed. */
async function expectOnlyCompleteVersions(): Promise<void> {
  for (const v of await log()) {
    expect(pushed.has(v.topHash), `quilt log lists ${v.topHash}, which no push completed`).toBe(true);
    expect(await installed(`${name}@${v.topHash}`)).toEqual(pushed.get(v.topHash));
  }
}

let step = 0;
/** Edits the workspace (one file changed, one added) and adds the directory again. */
async function editWorkspace(): Promise<void> {
  step++;
  files = {
    ...files,
    "data/changed.bin": pseudoRandomBytes(30_000 + step, `${salt}-changed-${step}`),
    [`data/new-${step}.bin`]: pseudoRandomBytes(5_000, `${salt}-new-${step}`),
  };
  writeTree(join(root, "ws"), files);
  await q.ok("add", "data/");
}

/** `quilt push -t prod` killed while `rule`'s request is held; returns the requests it made. */
async function killedPush(rule: HoldRule): Promise<{ method: string; key: string }[]> {
  const from = proxy.requests.length;
  await killCliAt(["push", "-t", TAG], proxy.hold(rule), { env: q.env, cwd: q.cwd });
  proxy.release();
  return proxy.requests.slice(from);
}

/** A plain re-run of the push; returns the data PUTs it made and the new top hash. */
async function rerunPush(): Promise<{ dataPuts: string[]; topHash: string }> {
  const from = proxy.requests.length;
  const out = JSON.parse(await q.ok("push", "-t", TAG, "--json")) as { topHash: string };
  pushed.set(out.topHash, { ...files });
  const dataPuts = proxy.requests
    .slice(from)
    .filter((r) => r.method === "PUT" && r.key.startsWith(dataPrefix));
  return { dataPuts: dataPuts.map((r) => r.key), topHash: out.topHash };
}

const manifestPut = (reqs: { method: string; key: string }[]): string | undefined =>
  reqs
    .find((r) => r.method === "PUT" && r.key.startsWith(".quilt/packages/"))
    ?.key.slice(".quilt/packages/".length);

beforeAll(async () => {
  proxy = await startHoldProxy(s3.endpoint);
  root = tempRoot("push-crash");
  lib = newContext(s3.endpoint);
  const env = {
    ...FAKE_AWS_ENV,
    AWS_ENDPOINT_URL: proxy.endpoint,
    QUILT_REGISTRY: registry,
    QUILT_CACHE_DIR: join(root, "cache"),
    QUILT_STATE_DIR: join(root, "state"),
  };
  files = {
    "data/kept.bin": pseudoRandomBytes(20_000, `${salt}-kept`),
    "data/changed.bin": pseudoRandomBytes(30_000, `${salt}-changed-0`),
  };
  writeTree(join(root, "ws"), files);
  q = new CliSession(join(root, "ws"), env);
  await q.ok("init", name, "--registry", registry);
  await q.ok("add", "data/");
  const first = JSON.parse(await q.ok("push", "--prefix", dataPrefix, "-t", TAG, "--json")) as {
    topHash: string;
  };
  pushed.set(first.topHash, { ...files });
});

afterAll(async () => {
  await proxy?.close();
  await cleanupAll();
});

describe("quilt push killed with SIGKILL", () => {
  it("between data and manifest: nothing new is listed, the old version installs, a re-run completes without uploading again", async () => {
    const before = await log();
    const tagBefore = await tagged(TAG);
    await editWorkspace();
    const reqs = await killedPush({ method: "PUT", key: ".quilt/packages/" });
    const dataPuts = reqs.filter((r) => r.method === "PUT" && r.key.startsWith(dataPrefix)).map((r) => r.key);
    expect(dataPuts.sort()).toEqual([`${dataPrefix}data/changed.bin`, `${dataPrefix}data/new-${step}.bin`]);
    expect(manifestPut(reqs)).toBeDefined(); // held: never reached moto

    expect(await log()).toEqual(before);
    expect(await tagged(TAG)).toBe(tagBefore);
    expect((await q.ok("list")).split("\n")).toContain(name);
    // `quilt install` of the tag, as a user would: the previous version.
    const dest = join(root, "install-cli");
    await q.ok("install", `${name}:${TAG}`, "--dest", dest);
    expect(
      (await readFile(join(dest, "data/changed.bin"))).equals(
        pushed.get(tagBefore as string)?.["data/changed.bin"] as Buffer,
      ),
    ).toBe(true);
    await expectOnlyCompleteVersions();

    const again = await rerunPush();
    expect(again.dataPuts).toEqual([]); // the data uploaded before the kill is reused
    expect(await tagged(TAG)).toBe(again.topHash);
    expect(await installed(`${name}:${TAG}`)).toEqual(files);
    await expectOnlyCompleteVersions();
  });

  for (const [label, rule] of [
    ["between manifest and pointers", { method: "PUT", key: new RegExp(`^${POINTERS}\\d+$`) }],
    ["between latest and tag", { method: "PUT", key: `${POINTERS}${TAG}` }],
  ] as const) {
    it(`${label}: the manifest browses by top hash, the tag names the old version, a re-run sets it`, async () => {
      const tagBefore = await tagged(TAG);
      await editWorkspace();
      const reqs = await killedPush(rule);
      const topHash = manifestPut(reqs);
      expect(topHash).toMatch(/^[0-9a-f]{64}$/);

      // The manifest is there and whole: browsing by its hash loads it (its top hash is checked).
      const ls = await q.ok("ls", `${name}@${topHash}`, "data/");
      expect(ls).toContain("new-");
      expect(await tagged(TAG)).toBe(tagBefore);
      expect(await installed(`${name}:${TAG}`)).toEqual(pushed.get(tagBefore as string));
      // Whatever pointer did get written names a whole manifest.
      pushed.set(topHash as string, { ...files });
      await expectOnlyCompleteVersions();

      const again = await rerunPush();
      expect(again.topHash).toBe(topHash);
      expect(again.dataPuts).toEqual([]);
      expect(await tagged(TAG)).toBe(topHash);
      expect(await installed(`${name}:${TAG}`)).toEqual(files);
      await expectOnlyCompleteVersions();
    });
  }
});
