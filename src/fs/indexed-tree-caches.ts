// What indexed trees (indexed-tree.ts) keep decoded from the manifest index, in one budget
// for the whole daemon rather than one per mount: ten versions mounted at once held ten
// budgets (16 MiB of children tables each), though a listing or a walk uses one version's
// at a time. Each tree has its own keys (a number given at its creation), so a tree sees
// only what it read itself, as with a cache of its own; an unmounted tree's entries age out.
import { LRUCache } from "lru-cache";
import type { ChildTable, IndexedNode, PageCache } from "../storage/manifest-index-records.js";

/** Children tables kept decoded, in bytes: a few directories of 100,000 names, or a walk's directories of 1,000. */
const CHILD_CACHE_BYTES = 24 * 1024 * 1024;
/** Decoded nodes kept: files being opened, directories' paths and metadata. */
const NODE_CACHE_ENTRIES = 8192;
/** Raw node pages kept (~40 KB each): opens of neighbouring files read one. */
const PAGE_CACHE_ENTRIES = 64;

const tables = new LRUCache<string, ChildTable>({
  maxSize: CHILD_CACHE_BYTES,
  sizeCalculation: (t) => t.bytes,
});
const nodes = new LRUCache<string, IndexedNode>({ max: NODE_CACHE_ENTRIES });
const pages = new LRUCache<string, Buffer>({ max: PAGE_CACHE_ENTRIES });

/** A cache of one tree's entries (by inode or page number) within the shared budget. */
export interface VersionCache<V> {
  get(n: number): V | undefined;
  set(n: number, v: V): unknown;
}

export interface VersionCaches {
  tables: VersionCache<ChildTable>;
  nodes: VersionCache<IndexedNode>;
  pages: VersionCache<Buffer> & PageCache;
}

function view<V extends object>(cache: LRUCache<string, V>, prefix: string): VersionCache<V> {
  return {
    get: (n) => cache.get(prefix + n),
    set: (n, v) => cache.set(prefix + n, v),
  };
}

let trees = 0;

/** The shared caches as one new tree sees them. */
export function treeCaches(): VersionCaches {
  const prefix = `${(trees++).toString(36)}/`;
  return { tables: view(tables, prefix), nodes: view(nodes, prefix), pages: view(pages, prefix) };
}
