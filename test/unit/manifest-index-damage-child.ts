// Child of manifest-index-damage.test.ts: a daemon's index (IndexUpkeep installed) reads a
// version whose record the parent damaged; the removal that follows pauses between two
// batches (QUILT_TEST_PAUSE_AT=index-drop, set by the parent), which then kills it with -9.
import { IndexUpkeep } from "../../src/daemon/index-upkeep.js";
import { IndexedTree } from "../../src/fs/indexed-tree.js";
import { ManifestIndex, versionKey, type VersionId } from "../../src/storage/manifest-index.js";
import type { TopHash } from "../../src/types.js";

const [dir, registry, name, topHash, victim] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
];
const index = ManifestIndex.open(dir);
new IndexUpkeep(index, Number.MAX_SAFE_INTEGER, () => []);
const id: VersionId = { registry, name, topHash: topHash as TopHash };
const tree = new IndexedTree(index, versionKey(id), index.header(id)!);
try {
  tree.get(victim);
  process.exit(1); // the damage went unseen
} catch {
  // Found damaged: hidden, its removal under way in the background until the pause.
}
// A paused promise holds nothing open: stay alive, as a daemon's socket keeps it, until killed.
setInterval(() => undefined, 1000);
