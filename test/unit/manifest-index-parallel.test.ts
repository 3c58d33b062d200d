// The index build's parallel parse (manifest-index-parsers.ts): a manifest cut into many
// small segments, parsed on two worker threads, must index exactly what the build in one
// thread indexes, hash to the top hash the whole-manifest reader computes (floats, big
// integers, NaN, unicode, key order), and refuse the first bad line in file order; and use
// the workers QUILT_INDEX_THREADS asks for.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { compareLogicalKeys } from "../../src/manifest/logical-key.js";
import { readManifest } from "../../src/manifest/manifest-reader.js";
import type { TopHash } from "../../src/types.js";
import { buildFromSource, buildInWorker, type BuildOptions } from "../../src/storage/manifest-index-build.js";
import { ManifestIndex, versionKey, type VersionId } from "../../src/storage/manifest-index.js";
import { defaultParseThreads } from "../../src/storage/manifest-index-parsers.js";
import { indexThreads } from "../../src/config.js";
import { decodeVersionHeader } from "../../src/storage/manifest-index-records.js";

let dir: string;
let index: ManifestIndex;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "quilt-index-parallel-"));
  index = ManifestIndex.open(join(dir, "manifests"));
});

afterEach(async () => {
  await index.close();
  await rm(dir, { recursive: true, force: true });
});

/** Many segments of a few lines each, on two workers. */
const PARALLEL: BuildOptions = { threads: 2, segmentBytes: 700 };
const IN_THREAD: BuildOptions = { threads: 0 };

const HEADER =
  '{"version": "v0", "message": "tricky \\u00e9", "user_meta": {"f": 1.0, "big": 18446744073709551616}}';

/** Entry lines whose canonical JSON is easy to get wrong, cycled over `count` keys. */
function trickyLines(count: number): string[] {
  const metas = [
    "{}",
    '{"user_meta": {"x": 1.0, "y": 1e16, "z": -0.0, "w": 2.5e-7, "n": NaN, "i": -Infinity}}',
    '{"user_meta": {"big": 123456789012345678901234567890, "neg": -9007199254740993}}',
    '{"10": "index-like key", "b": [1, 1.5, "\\ud83d\\ude00"], "a": {"2": null, "1": true}}',
    '{"é": "ü", "astral": "😀", "esc": "\\u0001\\"\\\\"}',
    "null",
  ];
  const keys = ["plain", "é/ü/日本.txt", "emoji/😀.bin", "sp ace/x", "\\u00e9scaped"];
  const pks = ["s3://bkt/objects/K?versionId=v1", "s3://bkt/odd%20name/K", "file:///tmp/local/K"];
  const lines: [string, string][] = [];
  for (let i = 0; i < count; i++) {
    const kind = keys[i % keys.length] as string;
    const key = `k${String(i).padStart(4, "0")}/${kind}`;
    const decoded = JSON.parse(`"${key}"`) as string;
    const hash =
      i % 7 === 3
        ? '{"value": "ab", "type": "SHA256"}'
        : `{"type": "SHA256", "value": "${i.toString(16).padStart(64, "0")}"}`;
    const pk = (pks[i % pks.length] as string).replace("K", `f${i}`);
    lines.push([
      decoded,
      `{"logical_key": "${key}", "physical_keys": ["${pk}"], "size": ${i % 5 === 0 ? 0 : i * 1000}, "hash": ${hash}, "meta": ${metas[i % metas.length]}}`,
    ]);
  }
  lines.sort(([a], [b]) => compareLogicalKeys(a, b));
  return lines.map(([, l]) => l);
}

function manifestText(entries: string[], extra: string[] = []): string {
  return [HEADER, '{"logical_key": "k0001/", "meta": {"dir": 1.0}}', ...extra, ...entries].join("\n") + "\n";
}

async function idOf(text: string): Promise<VersionId> {
  return { registry: "file:///registry", name: "ns/pkg", topHash: (await readManifest([text])).topHash };
}

/** Everything the index holds of a version: its header record and every file's node, in order. */
function indexed(id: VersionId): unknown {
  const vid = versionKey(id);
  const header = index.header(id);
  expect(header).toBeDefined();
  const body = decodeVersionHeader(index.headerBody(vid)!);
  return { header: body, files: [...index.files(vid, header!.files)] };
}

async function buildBoth(text: string, id: VersionId): Promise<[unknown, unknown]> {
  await buildFromSource(index, id, { bytes: Buffer.from(text), where: "test" }, PARALLEL);
  const parallel = indexed(id);
  index.drop(versionKey(id));
  await buildFromSource(index, id, { bytes: Buffer.from(text), where: "test" }, IN_THREAD);
  return [parallel, indexed(id)];
}

describe("the index build's parse on worker threads", () => {
  it("indexes tricky lines exactly as the build in one thread, under the top hash the whole-manifest reader computes", async () => {
    const entries = trickyLines(240);
    const text = manifestText(entries);
    const id = await idOf(text);
    const [parallel, inThread] = await buildBoth(text, id);
    expect(parallel).toEqual(inThread);
    expect((parallel as { files: string[] }).files).toEqual(entries);
  });

  it("runs its parse workers from the build's own worker thread (as the daemon builds)", async () => {
    const entries = trickyLines(150);
    const text = manifestText(entries);
    const id = await idOf(text);
    await buildInWorker(index, id, { bytes: Buffer.from(text), where: "test" }, PARALLEL);
    expect((indexed(id) as { files: string[] }).files).toEqual(entries);
  });

  it("keeps nodes without CR and BOM, and hashes lines out of walk order in walk order", async () => {
    const entries = trickyLines(120);
    const crlf = "\ufeff" + manifestText(entries).replaceAll("\n", "\r\n");
    const id = await idOf(crlf);
    expect(id.topHash).toBe((await idOf(manifestText(entries))).topHash);
    const [parallel] = await buildBoth(crlf, id);
    expect((parallel as { files: string[] }).files).toEqual(entries);
    const [head, ...rest] = manifestText(entries).trimEnd().split("\n");
    const reversed = [head, ...rest.reverse()].join("\n") + "\n";
    index.drop(versionKey(id));
    await buildFromSource(index, id, { bytes: Buffer.from(reversed), where: "test" }, PARALLEL);
    // Nodes are kept in the manifest's order (the tree points into them).
    expect((indexed(id) as { files: string[] }).files).toEqual([...entries].reverse());
  });

  it("refuses a manifest whose top hash is not the version's, leaving no record", async () => {
    const text = manifestText(trickyLines(200));
    const id = { ...(await idOf(text)), topHash: "0".repeat(64) as TopHash };
    await expect(
      buildFromSource(index, id, { bytes: Buffer.from(text), where: "test" }, PARALLEL),
    ).rejects.toMatchObject({ code: "EHASHMISMATCH" });
    expect(index.recordCount(id)).toBe(0);
  });

  it("refuses the first bad line in file order, in whichever segment it is, leaving no record", async () => {
    const entries = trickyLines(200);
    const id = await idOf(manifestText(entries));
    const cases: [string, RegExp][] = [
      ["{not json", /^Manifest line 41: bad JSON/],
      [
        '{"logical_key": "../x", "physical_keys": ["s3://b/k"], "size": 1, "hash": {"type": "SHA256", "value": "a"}}',
        /^Manifest line 41: invalid logical key/,
      ],
      ["\u0000\u00ff".replace("\u0000", "{"), /^Manifest line 41: bad JSON/],
    ];
    for (const [bad, message] of cases) {
      const lines = manifestText(entries).split("\n");
      lines.splice(40, 0, bad); // line 41
      lines.splice(150, 0, "{also bad");
      for (const options of [PARALLEL, IN_THREAD])
        await expect(
          buildFromSource(index, id, { bytes: Buffer.from(lines.join("\n")), where: "test" }, options),
        ).rejects.toThrow(message);
    }
    const bytes = Buffer.from(manifestText(entries));
    const at = bytes.indexOf("k0100");
    bytes[at] = 0xff; // not UTF-8, on line 2 + the 101st entry's line
    const line = bytes.subarray(0, at).toString("latin1").split("\n").length;
    for (const options of [PARALLEL, IN_THREAD])
      await expect(buildFromSource(index, id, { bytes, where: "test" }, options)).rejects.toThrow(
        `Manifest line ${line}: invalid UTF-8`,
      );
    expect(index.recordCount(id)).toBe(0);
  });

  it("uses the parse workers QUILT_INDEX_THREADS asks for (0: parses in its own thread), and says how many it used", async () => {
    const text = manifestText(trickyLines(200));
    const id = await idOf(text);
    const build = async (env: NodeJS.ProcessEnv, segmentBytes = 700) => {
      index.drop(versionKey(id));
      const threads = indexThreads(env);
      const result = await buildFromSource(
        index,
        id,
        { bytes: Buffer.from(text), where: "test" },
        { segmentBytes, ...(threads === undefined ? {} : { threads }) },
      );
      expect((indexed(id) as { files: string[] }).files).toHaveLength(200);
      return result.parseThreads;
    };
    expect(await build({ QUILT_INDEX_THREADS: "0" })).toBe(0);
    expect(await build({ QUILT_INDEX_THREADS: "3" })).toBe(3);
    expect(await build({})).toBe(defaultParseThreads());
    // A manifest of one or two segments is parsed in the build's thread whatever is asked.
    expect(await build({ QUILT_INDEX_THREADS: "3" }, text.length)).toBe(0);
  });
});

describe("QUILT_INDEX_THREADS", () => {
  it("is a whole number of parse workers from 0 to 64, or unset; anything else is refused with its name and a hint", () => {
    expect(indexThreads({})).toBeUndefined();
    expect(indexThreads({ QUILT_INDEX_THREADS: "" })).toBeUndefined();
    expect(indexThreads({ QUILT_INDEX_THREADS: "0" })).toBe(0);
    expect(indexThreads({ QUILT_INDEX_THREADS: " 8 " })).toBe(8);
    for (const bad of ["-1", "1.5", "two", "65", "0x4"]) {
      let err: unknown;
      try {
        indexThreads({ QUILT_INDEX_THREADS: bad });
      } catch (e) {
        err = e;
      }
      expect(err).toMatchObject({
        code: "EUSAGE",
        message: `Invalid QUILT_INDEX_THREADS=${JSON.stringify(bad)}`,
        hint: expect.stringContaining("0 (parse in the build's own thread) to 64") as string,
      });
    }
  });
});
