// The children table's record (manifest-index-records.ts): names front-coded, sizes and file
// positions as varints. It must give back exactly what was written (names in any script, sizes
// up to 2^53, positions in any order), stay small, and refuse a body that does not parse.
import fc from "fast-check";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { open } from "lmdb";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { IndexedTree } from "../../src/fs/indexed-tree.js";
import { ManifestIndex, versionKey, type VersionId } from "../../src/storage/manifest-index.js";
import { recordKey, seal, TAG_CHILDREN, TAG_HEADER, unseal } from "../../src/storage/manifest-index-keys.js";
import { ChildTable, encodeChildren, type Child } from "../../src/storage/manifest-index-records.js";
import { compareCodePoints } from "../../src/code-point-order.js";
import { fsManifest, SAMPLE_FILES } from "../helpers/fs-fixtures.js";

function sortedUnique(names: string[]): string[] {
  return [...new Set(names)].sort((a, b) => compareCodePoints(a, b));
}

function decoded(t: ChildTable): Child[] {
  return Array.from({ length: t.count }, (_, i) => {
    const size = t.size(i);
    return { name: t.name(i), size, file: size === undefined ? 0 : t.file(i) };
  });
}

describe("children table", () => {
  it("gives back every name, size and file position, and finds every name", () => {
    const name = fc.oneof(
      fc.string({ minLength: 1, maxLength: 12 }),
      fc.constantFrom("f0000123.bin", "f0000124.bin", "f00001", "é", "日本語", "😀x", "\u{E000}", "a-b", "a"),
    );
    const child = fc.record({
      size: fc.option(fc.oneof(fc.nat(5000), fc.constant(0), fc.constant(2 ** 53 - 1), fc.constant(2 ** 32))),
      file: fc.nat(2 ** 32 - 1),
    });
    fc.assert(
      fc.property(
        fc.uniqueArray(name, { maxLength: 40 }),
        fc.array(child, { maxLength: 40 }),
        (names, specs) => {
          const children = sortedUnique(names).map((n, i): Child => {
            const spec = specs[i % Math.max(1, specs.length)] ?? { size: null, file: 0 };
            const size = spec.size ?? undefined;
            return { name: n, size, file: size === undefined ? 0 : spec.file };
          });
          const table = new ChildTable(encodeChildren(children));
          expect(decoded(table)).toEqual(children);
          children.forEach((c, i) => expect(table.find(c.name)).toBe(i));
          expect(table.find("\u{10FFFF}absent")).toBe(-1);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("takes about a third of the fixed-width layout for generated names (28 bytes a child before)", () => {
    const children = Array.from({ length: 1000 }, (_, i): Child => ({
      name: `f${String(i).padStart(7, "0")}.bin`,
      size: i % 4096,
      file: 5000 + i,
    }));
    const body = encodeChildren(children);
    expect(body.length / children.length).toBeLessThanOrEqual(10);
    expect(decoded(new ChildTable(body))).toEqual(children);
  });

  it("refuses a body that ends early, runs on, claims too many children or shares more than its neighbour", () => {
    const body = encodeChildren([
      { name: "alpha", size: 10, file: 1 },
      { name: "alpine", size: undefined, file: 0 },
    ]);
    expect(() => new ChildTable(body.subarray(0, body.length - 1))).toThrow(RangeError);
    expect(() => new ChildTable(Buffer.concat([body, Buffer.from([0])]))).toThrow(RangeError);
    const many = Buffer.from(body);
    many.writeUInt32LE(1_000_000, 0);
    expect(() => new ChildTable(many)).toThrow(RangeError);
    // The first name cannot share bytes with a name before it.
    const first = Buffer.from(body);
    first[4] = 3;
    expect(() => new ChildTable(first)).toThrow(RangeError);
  });
});

describe("children tables in the index", () => {
  let dir: string;
  let index: ManifestIndex;
  const m = fsManifest(SAMPLE_FILES);
  const id: VersionId = { registry: "file:///registry", name: "ns/pkg", topHash: m.topHash };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "quilt-children-"));
    index = ManifestIndex.open(join(dir, "manifests"));
  });

  afterEach(async () => {
    await index.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** Rewrites one record of the version with a valid seal, as a build of another layout would have. */
  async function rewrite(tag: number, ino: number, body: (old: Buffer) => Buffer): Promise<void> {
    await index.close();
    const raw = open<Buffer, Buffer>({
      path: join(dir, "manifests"),
      keyEncoding: "binary",
      encoding: "binary",
    });
    const key = recordKey(versionKey(id), tag, ino);
    const old = unseal(key, raw.get(key)!)!;
    await raw.put(key, seal(key, body(old)));
    await raw.close();
    index = ManifestIndex.open(join(dir, "manifests"));
  }

  it("a table that passes its CRC but does not parse fails the lookup and drops the version", async () => {
    index.build(id, m);
    await rewrite(TAG_CHILDREN, 1, (old) => old.subarray(0, old.length - 2));
    const tree = new IndexedTree(index, versionKey(id), index.header(id)!);
    expect(() => tree.list(1)).toThrow(expect.objectContaining({ code: "EBADMANIFEST" }));
    expect(index.header(id)).toBeUndefined();
    expect(index.recordCount(id)).toBe(0);
  });

  it("a version indexed in the earlier layout (format 2) is not read, and is indexed again", async () => {
    index.build(id, m);
    await rewrite(TAG_HEADER, 0, (old) => {
      const h = JSON.parse(old.toString("utf8")) as { format: number };
      return Buffer.from(JSON.stringify({ ...h, format: 2 }), "utf8");
    });
    expect(index.header(id)).toBeUndefined();
    const header = index.build(id, m);
    const tree = new IndexedTree(index, versionKey(id), header);
    expect(tree.entry(tree.resolve("images/train/0001.jpg"))?.size).toBe(200_000);
    expect(index.header(id)?.format).toBe(3);
  });
});
