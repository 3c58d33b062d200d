// `quilt manifest export` on the moto server: the rows pyarrow reads back from the Parquet
// file and the JSON Lines rows are each exactly the entries the real quilt3 sees in the same
// package (physical key, bucket/key/version, size, hash, whole meta, 1.0 and huge integers
// kept); stdout and -o give the same bytes; a manifest not in quilt3's layout is still
// exported (loaded whole); a manifest that does not match its top hash, or a damaged cached
// copy, never reaches the output; and the usage and destination errors say what to do.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { PackageBuilder } from "../../src/index.js";
import { parseJson } from "../../src/manifest/json-parse.js";
import { pushBigPackage } from "../helpers/big-manifest.js";
import { runCli } from "../helpers/cli.js";
import { REPO_ROOT } from "../helpers/moto-server.js";
import {
  ENTRY_META_TEXT,
  fixtureFiles,
  removeTempDirs,
  tempDir,
  writeFixtureDir,
} from "../helpers/package-fixtures.js";
import { runQuilt3Json } from "../helpers/quilt3.js";
import { uniquePrefix } from "../helpers/s3.js";
import { cleanupAll, motoClient, newContext, usecaseEnv } from "../helpers/usecase-support.js";

const env = usecaseEnv();
const salt = uniquePrefix("mexport");
const name = `mexport/${salt}`;
const files = fixtureFiles(salt);
let topHash = "";

afterAll(async () => {
  removeTempDirs();
  await cleanupAll();
});

/** The CLI with its own caches (so each call reads the manifest the test means it to). */
function cli(args: string[], cacheDir = join(tempDir("quilt-export-cache-"), "cache")) {
  return runCli(["manifest", "export", ...args], {
    env: { ...env.env, QUILT_REGISTRY: env.registry, QUILT_CACHE_DIR: cacheDir },
  });
}

/** Replaces the registry's manifest object of the package (as someone with write access could). */
async function putManifest(top: string, body: string): Promise<void> {
  const client = motoClient(env);
  try {
    await client.send(
      new PutObjectCommand({ Bucket: env.bucket, Key: `.quilt/packages/${top}`, Body: body }),
    );
  } finally {
    client.destroy();
  }
}

beforeAll(async () => {
  const dir = writeFixtureDir(files);
  const b = new PackageBuilder(name, { registry: env.registry, session: newContext(env.endpoint) });
  await b.add(dir, "");
  for (const [key, text] of Object.entries(ENTRY_META_TEXT)) b.setMeta(key, parseJson(text));
  b.setMeta("données/", { about: "a directory-metadata line" });
  const pkg = await b.pushDataAndManifest({ prefix: `${salt}-data`, tag: "v1" });
  topHash = pkg.hash;
});

interface Compared {
  rows: string[];
  jsonl: string[];
  expected: string[];
  schema: Record<string, string>;
}

/** pyarrow's rows of `parquet` and the JSON Lines rows next to quilt3's entries, each as canonical JSON text. */
function compareWithQuilt3(parquet: string, jsonl: string): Promise<Compared> {
  return runQuilt3Json<Compared>(
    `import contextlib
import pyarrow.parquet as pq
import quilt3
def canonical(row):
    row = dict(row)
    row["meta"] = json.loads(row["meta"])
    return json.dumps(row, sort_keys=True)
with contextlib.redirect_stdout(sys.stderr):
    p = quilt3.Package.browse(ARGS["name"], registry=ARGS["registry"], top_hash=ARGS["top_hash"])
    table = pq.read_table(ARGS["parquet"])
    expected = []
    for lk, e in p.walk():
        pk = e.physical_key
        expected.append(json.dumps({"logical_key": lk, "physical_key": str(pk), "bucket": pk.bucket,
            "key": pk.path, "version_id": pk.version_id, "size": e.size, "hash_type": e.hash["type"],
            "hash_value": e.hash["value"], "meta": e._meta}, sort_keys=True))
    with open(ARGS["jsonl"], encoding="utf-8") as f:
        jsonl = [canonical(json.loads(line)) for line in f]
print(json.dumps({"rows": [canonical(r) for r in table.to_pylist()], "jsonl": jsonl, "expected": expected,
    "schema": {f.name: str(f.type) + ("" if f.nullable else " not null") for f in table.schema}}))`,
    { name, registry: env.registry, top_hash: topHash, parquet, jsonl },
    { env: env.env },
  );
}

describe("quilt manifest export", () => {
  it("writes one row per entry, read back by pyarrow equal to the entries quilt3 sees; JSON Lines the same", async () => {
    const out = tempDir("quilt-export-out-");
    const parquet = join(out, "rows.parquet");
    const jsonl = join(out, "rows.jsonl");
    const p = await cli([`${name}:v1`, "-o", parquet, "--json"]);
    expect(p.stderr).toBe("");
    expect(p.code).toBe(0);
    expect(JSON.parse(p.stdout)).toMatchObject({
      name,
      topHash,
      rows: files.length,
      format: "parquet",
      streamed: true,
    });
    expect((await cli([`${name}:v1`, "-o", jsonl])).code).toBe(0);

    const seen = await compareWithQuilt3(parquet, jsonl);
    expect(seen.expected).toHaveLength(files.length);
    expect(seen.rows).toEqual(seen.expected);
    expect(seen.jsonl).toEqual(seen.expected);
    expect(seen.schema).toEqual({
      logical_key: "string not null",
      physical_key: "string not null",
      bucket: "string",
      key: "string not null",
      version_id: "string",
      size: "int64 not null",
      hash_type: "string not null",
      hash_value: "string not null",
      meta: "string not null",
    });
    // Every object is pinned to the version the push wrote.
    for (const row of seen.rows) expect(JSON.parse(row).version_id).toMatch(/\S/);
    // Nothing but the file is left in the destination directory.
    expect(readdirSync(out).sort()).toEqual(["rows.jsonl", "rows.parquet"]);
  }, 120_000);

  it("prints the same JSON Lines on stdout as -o writes, and the format follows the file name", async () => {
    const out = tempDir("quilt-export-out-");
    const stdout = await cli([`${name}@${topHash.slice(0, 10)}`]);
    expect(stdout.code).toBe(0);
    expect((await cli([name, "-o", join(out, "x.jsonl"), "--format", "jsonl"])).code).toBe(0);
    expect(stdout.stdout).toBe(readFileSync(join(out, "x.jsonl"), "utf8"));
    expect(stdout.stdout.split("\n")).toHaveLength(files.length + 1);
    expect((await cli([name, "-o", join(out, "y.parquet")])).code).toBe(0);
    expect(readFileSync(join(out, "y.parquet")).subarray(0, 4).toString()).toBe("PAR1");
  }, 120_000);

  it("leaves no temporary file behind when the reader of stdout stops early (`| head`)", async () => {
    // Enough rows to fill the pipe, so the export is cut off mid-stream by EPIPE.
    const registry = tempDir("quilt-export-registry-");
    await pushBigPackage(registry, "big/rows", { files: 4000, perDir: 100, flat: 100 });
    const tmp = tempDir("quilt-export-tmp-");
    const child = spawn(
      process.execPath,
      [join(REPO_ROOT, "bin", "quilt.js"), "manifest", "export", "big/rows"],
      {
        env: { ...process.env, QUILT_REGISTRY: registry, QUILT_CACHE_DIR: join(tmp, "..", "c"), TMPDIR: tmp },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    const first = await new Promise<string>((resolve) =>
      child.stdout.once("data", (d: Buffer) => {
        child.stdout.destroy();
        resolve(d.toString());
      }),
    );
    const code = await new Promise((resolve) => child.once("close", resolve));
    expect(first).toMatch(/^\{"logical_key":"d0000\/d0000\/f0000000.bin"/);
    expect(code).toBe(0);
    expect(readdirSync(tmp)).toEqual([]);
  }, 120_000);

  it("exports a manifest whose lines are not in quilt3's order by loading it whole", async () => {
    // Same entries, same top hash, lines reversed: valid, but not checkable in one pass.
    const { stdout: original } = await cli([name]);
    const good = await registryManifest();
    const lines = good.trimEnd().split("\n");
    const reversed = [lines[0], ...lines.slice(1).reverse()].join("\n") + "\n";
    await putManifest(topHash, reversed);
    try {
      const out = join(tempDir("quilt-export-out-"), "r.jsonl");
      const r = await cli([name, "-o", out, "--json"]);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ rows: files.length, streamed: false });
      expect(readFileSync(out, "utf8")).toBe(original);
    } finally {
      await putManifest(topHash, good);
    }
  }, 120_000);

  it("writes nothing from a manifest that does not match its top hash, and rereads a damaged cached copy", async () => {
    const good = await registryManifest();
    const { stdout: original } = await cli([name]);
    // The registry's object changed (a size): refused, no file, nothing on stdout.
    await putManifest(topHash, good.replace(/"size": 5,/, '"size": 6,'));
    try {
      const out = tempDir("quilt-export-out-");
      const r = await cli([name, "-o", join(out, "bad.parquet")]);
      expect(r.code).toBe(5);
      expect(r.stderr).toMatch(/does not match its name/);
      expect(r.stderr).toMatch(/hint: /);
      expect(readdirSync(out)).toEqual([]);
      const s = await cli([name]);
      expect(s.code).toBe(5);
      expect(s.stdout).toBe("");
    } finally {
      await putManifest(topHash, good);
    }
    // A cached copy with another physical key (the top hash does not cover them): dropped and fetched again.
    const cache = join(tempDir("quilt-export-cache-"), "cache");
    const warm = await runCli(["ls", name], {
      env: { ...env.env, QUILT_REGISTRY: env.registry, QUILT_CACHE_DIR: cache },
    });
    expect(warm.code).toBe(0);
    const cached = findFile(join(cache, "manifests"), topHash);
    writeFileSync(
      cached,
      readFileSync(cached, "utf8").replace(`${salt}-data/README.md`, `${salt}-data/other.md`),
    );
    const again = await cli([name], cache);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(original);
    expect(readFileSync(cached, "utf8")).toBe(good);
  }, 120_000);

  it("refuses an unknown format, Parquet on stdout and --json without -o, and says why a destination fails", async () => {
    const format = await cli([name, "--format", "csv"]);
    expect(format.code).toBe(2);
    expect(format.stderr).toMatch(
      /Unknown export format "csv"\nhint: use --format parquet .* or --format jsonl/,
    );
    const parquet = await cli([name, "--format", "parquet"]);
    expect(parquet.code).toBe(2);
    expect(parquet.stderr).toMatch(/hint: give -o FILE.parquet/);
    expect((await cli([name, "--json"])).code).toBe(2);

    const out = tempDir("quilt-export-out-");
    const missing = await cli([name, "-o", join(out, "no", "such", "dir", "x.parquet")]);
    expect(missing.code).toBe(4);
    expect(missing.stderr).toMatch(
      /Cannot write .*x\.parquet: it \(or a directory above it\) does not exist\nhint: /,
    );
    mkdirSync(join(out, "adir"));
    const isDir = await cli([name, "-o", join(out, "adir")]);
    expect(isDir.code).toBe(3);
    expect(isDir.stderr).toMatch(/Cannot write .*adir: .*\nhint: /);
    expect(readdirSync(out)).toEqual(["adir"]);
    expect(readdirSync(join(out, "adir"))).toEqual([]);
    const notFound = await cli([`${name}:nope`]);
    expect(notFound.code).toBe(4);
    expect(notFound.stdout).toBe("");
  }, 120_000);
});

/** The registry's manifest object of the package, as pushed. */
async function registryManifest(): Promise<string> {
  const client = motoClient(env);
  try {
    const r = await client.send(
      new GetObjectCommand({ Bucket: env.bucket, Key: `.quilt/packages/${topHash}` }),
    );
    return await (r.Body as { transformToString(): Promise<string> }).transformToString();
  } finally {
    client.destroy();
  }
}

/** The one file named `base` under `dir`. */
function findFile(dir: string, base: string): string {
  const found = (readdirSync(dir, { recursive: true, encoding: "utf8" }) as string[]).filter(
    (p) => p.split("/").at(-1) === base,
  );
  expect(found).toHaveLength(1);
  return join(dir, found[0] as string);
}
