// The caches of indexed trees share one budget for the daemon (fs/indexed-tree-caches.ts)
// but not their entries: a tree never serves what another tree of the same version read
// before, so a record damaged since is still caught by the next tree that reads it.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, it } from "vitest";
import { IndexedTree } from "../../src/fs/indexed-tree.js";
import { hashValue } from "../../src/manifest/manifest.js";
import { ManifestIndex, versionKey } from "../../src/storage/manifest-index.js";
import { fsManifest, type FileSpec } from "../helpers/fs-fixtures.js";
import { flipByteIn } from "./manifest-index-fixtures.js";

let dir = "";
let index: ManifestIndex | undefined;

afterEach(async () => {
  await index?.close();
  await rm(dir, { recursive: true, force: true });
});

it("a tree does not serve another tree's cached node: damage since is caught", async () => {
  dir = await mkdtemp(join(tmpdir(), "quilt-tree-caches-"));
  const files = Array.from({ length: 600 }, (_, i): FileSpec => ({ key: `d/f${i}`, size: i }));
  const m = fsManifest(files);
  const id = { registry: "file:///registry", name: "ns/pkg", topHash: m.topHash };
  index = ManifestIndex.open(join(dir, "manifests"));
  index.build(id, m);
  const first = new IndexedTree(index, versionKey(id), index.header(id)!);
  expect(first.entry(first.resolve("d/f300"))?.size).toBe(300);
  await index.close();
  expect(await flipByteIn(join(dir, "manifests"), hashValue(m.get("d/f300")!))).toBe(1);
  index = ManifestIndex.open(join(dir, "manifests"));
  const second = new IndexedTree(index, versionKey(id), index.header(id)!);
  expect(() => second.entry(second.resolve("d/f300"))).toThrow(/damaged record/);
});
