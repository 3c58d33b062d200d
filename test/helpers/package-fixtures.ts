// Fixture packages for the quilt3 round-trip tests: a directory of files whose names and
// contents exercise what usually breaks (nested and unicode paths, spaces, `+` and `%` in
// names, an empty file, a file of ~1 MiB, `data/` next to `data-b.bin` for walk order),
// metadata that only survives an exact JSON model (1.0, huge integers, 1e+16), and the
// steps to write such a package "our way" (upload, hash, Manifest.create) for quilt3 to read.
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { expect } from "vitest";
import {
  assertHashType,
  hashBytes,
  hashFileSized,
  verifyHash,
  type EntryHash,
} from "../../src/manifest/checksums.js";
import { parseJson } from "../../src/manifest/json-parse.js";
import {
  fromPlain,
  jsonEqual,
  toPlain,
  type JsonObject,
  type JsonValue,
} from "../../src/manifest/json-value.js";
import { hashType, hashValue, Manifest, userMeta, type ManifestEntry } from "../../src/manifest/manifest.js";
import { serializeManifest } from "../../src/manifest/manifest-writer.js";
import type { PhysicalKey } from "../../src/manifest/physical-key.js";
import type { ObjectStore } from "../../src/storage/object-store.js";
import type { Stores } from "../../src/storage/stores.js";
import type { LogicalKey } from "../../src/types.js";

export interface FixtureFile {
  logicalKey: string;
  bytes: Buffer;
}

const MIB = 1024 * 1024;

/** Deterministic pseudo-random bytes (sha256 in counter mode), so failures reproduce. */
export function pseudoRandomBytes(size: number, seed: string): Buffer {
  const out = Buffer.alloc(size);
  for (let offset = 0, i = 0; offset < size; i++, offset += 32) {
    createHash("sha256").update(`${seed}:${i}`).digest().copy(out, offset);
  }
  return out;
}

/** The standard fixture tree. `salt` goes into one file so that runs never share content. */
export function fixtureFiles(salt: string): FixtureFile[] {
  const text = (s: string): Buffer => Buffer.from(s, "utf8");
  return [
    { logicalKey: "README.md", bytes: text(`# Round-trip fixture ${salt}\n`) },
    { logicalKey: "données/été 2024.csv", bytes: text("jour,température\n1,21.5\n2,23.0\n3,19.25\n") },
    { logicalKey: "données/sub/deep/x.json", bytes: text('{"a": [1, 2, 3], "é": "ü"}\n') },
    { logicalKey: "😀.txt", bytes: text("smile 😀\n") },
    { logicalKey: "odd names/a b+c%20d&e=f.txt", bytes: text("space, plus, percent\n") },
    { logicalKey: "odd names/it's (1)!*~.txt", bytes: text("quote, parens, bang, star, tilde\n") },
    { logicalKey: "data/a.csv", bytes: text("x,y\n1,2\n") },
    { logicalKey: "data-b.bin", bytes: Buffer.from([0, 1, 2, 0xfe, 0xff]) },
    { logicalKey: "empty.bin", bytes: Buffer.alloc(0) },
    { logicalKey: "big/one-mib.bin", bytes: pseudoRandomBytes(MIB + 13, `big-${salt}`) },
  ];
}

/**
 * Metadata as JSON text, so both sides parse the same literal: Python's json.loads keeps
 * 1.0 a float and big integers exact, and so does parseJson (JSON.stringify could not).
 */
export const ENTRY_META_TEXT: Readonly<Record<string, string>> = {
  "README.md":
    '{"note": "top", "ratio": 1.0, "big": 123456789012345678901234567890, "neg": -0.5, "exp": 1e16, ' +
    '"tiny": 1e-05, "zero": 0.0, "nested": {"b": [1, 2.5, null, true], "a": "été 😀"}}',
  "données/été 2024.csv": '{"rows": 3, "float": 2.0, "10": "integer-like key", "b": "after"}',
  "big/one-mib.bin": '{"size_hint": 1048589, "ok": false}',
};

export const PACKAGE_META_TEXT =
  '{"project": "roundtrip", "version": 1.0, "big": 9007199254740993, "tags": ["a", "ü"], "empty": {}}';

export function metaValue(text: string): JsonValue {
  return parseJson(text);
}

const tempDirs: string[] = [];

/** A fresh temporary directory, removed by removeTempDirs (call it from afterAll). */
export function tempDir(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), label));
  tempDirs.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** Writes the files under a fresh temporary directory and returns it. */
export function writeFixtureDir(files: readonly FixtureFile[], label = "quilt-fixture-"): string {
  const dir = tempDir(label);
  for (const f of files) {
    const path = join(dir, ...f.logicalKey.split("/"));
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, f.bytes);
  }
  return dir;
}

/** Every file below `dir`, by its `/`-separated path relative to `dir`. */
export function readTree(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (sub: string[]): void => {
    for (const d of readdirSync(join(dir, ...sub), { withFileTypes: true })) {
      if (d.isDirectory()) walk([...sub, d.name]);
      else out.set([...sub, d.name].join("/"), readFileSync(join(dir, ...sub, d.name)));
    }
  };
  walk([]);
  return out;
}

/** Asserts that a tree read from disk holds exactly the fixture files, byte for byte. */
export function expectTreeEqualsFixtures(tree: Map<string, Buffer>, files: readonly FixtureFile[]): void {
  expect([...tree.keys()].sort()).toEqual(files.map((f) => f.logicalKey).sort());
  for (const f of files) {
    const got = tree.get(f.logicalKey);
    expect(got && Buffer.compare(got, f.bytes) === 0, `bytes of ${f.logicalKey}`).toBe(true);
  }
}

/** Asserts deep equality of two metadata values, exactly (1 and 1.0 differ) and readably. */
export function expectMetaEqual(actual: JsonValue, expected: JsonValue, what: string): void {
  expect(toPlain(actual), what).toEqual(toPlain(expected));
  expect(jsonEqual(actual, expected), `${what} (exact: floats stay floats)`).toBe(true);
}

/**
 * Reads every entry's bytes through the store its physical key names, and checks them
 * against the fixture file of the same logical key and against the entry's own hash.
 */
export async function expectEntriesMatchFixtures(
  manifest: Manifest,
  stores: Stores,
  files: readonly FixtureFile[],
): Promise<void> {
  expect(manifest.entries.map((e) => e.logicalKey).sort()).toEqual(files.map((f) => f.logicalKey).sort());
  for (const f of files) {
    const entry = manifest.get(f.logicalKey) as ManifestEntry;
    expect(entry.size, `size of ${f.logicalKey}`).toBe(f.bytes.length);
    expect(hashType(entry), `hash type of ${f.logicalKey}`).toBe("sha2-256-chunked");
    const { store, loc } = stores.forPhysicalKey(entry.physicalKey);
    const bytes = await store.get(loc);
    expect(
      Buffer.compare(bytes, f.bytes) === 0,
      `bytes of ${f.logicalKey} at ${entry.physicalKey.toString()}`,
    ).toBe(true);
    const expected: EntryHash = { type: hashType(entry), value: hashValue(entry) };
    verifyHash(expected, await hashBytes(bytes, assertHashType(expected.type)), f.logicalKey);
  }
}

export interface OurPackage {
  message: string;
  /** Logical key to metadata JSON text (stored under meta.user_meta). */
  entryMeta?: Readonly<Record<string, string>>;
  /** Package metadata JSON text (the header's user_meta). */
  packageMeta?: string;
}

/** A Manifest "our way": each file of `dir` hashed with hashFile, placed at `physicalKeyFor(key)`. */
export async function buildManifest(
  dir: string,
  files: readonly FixtureFile[],
  physicalKeyFor: (logicalKey: string) => PhysicalKey,
  pkg: OurPackage,
): Promise<Manifest> {
  const entries: ManifestEntry[] = [];
  for (const f of files) {
    const { hash, size } = await hashFileSized(join(dir, ...f.logicalKey.split("/")));
    const meta: JsonObject = new Map();
    const metaText = pkg.entryMeta?.[f.logicalKey];
    if (metaText !== undefined) meta.set("user_meta", parseJson(metaText));
    entries.push({
      logicalKey: f.logicalKey as LogicalKey,
      physicalKey: physicalKeyFor(f.logicalKey),
      size,
      hash: fromPlain(hash) as JsonObject,
      meta,
    });
  }
  const header: JsonObject = new Map<string, JsonValue>([
    ["version", "v0"],
    ["message", pkg.message],
  ]);
  if (pkg.packageMeta !== undefined) header.set("user_meta", parseJson(pkg.packageMeta));
  return Manifest.create({ header, entries });
}

/** Uploads each fixture file of `dir` to `bucket/prefix/<logical key>`; returns the versionIds. */
export async function uploadFixtures(
  store: ObjectStore,
  bucket: string,
  prefix: string,
  dir: string,
  files: readonly FixtureFile[],
): Promise<Map<string, string>> {
  const versions = new Map<string, string>();
  for (const f of files) {
    const put = await store.put(
      { bucket, key: `${prefix}/${f.logicalKey}` },
      { path: join(dir, ...f.logicalKey.split("/")) },
    );
    expect(
      put.versionId,
      `versionId of the upload of ${f.logicalKey} (the bucket is versioned)`,
    ).toBeTruthy();
    versions.set(f.logicalKey, put.versionId as string);
  }
  return versions;
}

/** User metadata of an entry, for comparisons. */
export function entryUserMeta(manifest: Manifest, logicalKey: string): JsonValue {
  const e = manifest.get(logicalKey);
  expect(e, `entry ${logicalKey}`).toBeDefined();
  return userMeta((e as ManifestEntry).meta);
}

/** Python prelude: quilt3's own progress output goes to stderr, so stdout is just our JSON. */
export const QUILT3_PRELUDE = `import contextlib, io, os, quilt3
from quilt3 import Package
A = ARGS
OUT = {}
def dump(p):
    buf = io.StringIO()
    p.dump(buf)
    return buf.getvalue()
def entries(p):
    return {lk: {"meta": json.dumps(e.meta), "physical_key": str(e.physical_key), "size": e.size, "hash": e.hash} for lk, e in p.walk()}
`;

export interface Quilt3Entry {
  meta: string;
  physical_key: string;
  size: number;
  hash: { type: string; value: string };
}

/** What quilt3 saw of a package, compared with the manifest we wrote. */
export function expectQuilt3SeesManifest(
  seen: { dump: string; entries: Record<string, Quilt3Entry>; package_meta?: string },
  manifest: Manifest,
): void {
  // quilt3's own serialization of what it loaded is byte-identical to what we wrote.
  expect(seen.dump).toBe(serializeManifest(manifest).toString("utf8"));
  expect(Object.keys(seen.entries).sort()).toEqual(manifest.entries.map((e) => e.logicalKey).sort());
  for (const e of manifest.entries) {
    const q = seen.entries[e.logicalKey] as Quilt3Entry;
    expect(q.physical_key, `physical key of ${e.logicalKey}`).toBe(e.physicalKey.toString());
    expect(q.size).toBe(e.size);
    expect(q.hash).toEqual(toPlain(e.hash));
    expectMetaEqual(
      parseJson(q.meta),
      entryUserMeta(manifest, e.logicalKey),
      `quilt3's meta of ${e.logicalKey}`,
    );
  }
  if (seen.package_meta !== undefined)
    expectMetaEqual(parseJson(seen.package_meta), manifest.userMeta, "quilt3's package meta");
}
