// What to delete when the cache would grow past its limit, and what must not be deleted.
//
// Order: least recently used object first (access times live in the index, batched). An idle
// object is evicted whole, because a half-evicted object costs a refetch of its hole and a
// re-verification, while a whole one costs nothing until it is read again. An object in use
// (some block pinned) loses only what is needed, low indexes first: for a file larger than
// the cache read sequentially, those are the blocks already read, not the ones prefetched.
//
// Pins: a read in flight pins the blocks it is about to serve, verification pins its whole
// object, so eviction never deletes what is being served. Pins are per process; another
// daemon sharing the data directory may still delete a file, which a reader sees as a miss.
import type { CacheIndex } from "./cache-index.js";

export class Pins {
  private readonly blocks = new Map<string, number>();
  private readonly objects = new Map<string, number>();

  /** Pins blocks [first, last] of `key`; returns the release function (call it once). */
  pinBlocks(key: string, first: number, last: number): () => void {
    for (let i = first; i <= last; i++) bump(this.blocks, `${key}/${i}`, 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (let i = first; i <= last; i++) bump(this.blocks, `${key}/${i}`, -1);
    };
  }

  pinObject(key: string): () => void {
    bump(this.objects, key, 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      bump(this.objects, key, -1);
    };
  }

  isObjectPinned(key: string): boolean {
    return this.objects.has(key);
  }

  isPinned(key: string, index: number): boolean {
    return this.objects.has(key) || this.blocks.has(`${key}/${index}`);
  }
}

function bump(map: Map<string, number>, id: string, by: number): void {
  const n = (map.get(id) ?? 0) + by;
  if (n > 0) map.set(id, n);
  else map.delete(id);
}

export interface Victim {
  key: string;
  indexes: number[];
  bytes: number;
}

/**
 * Chooses blocks totalling at least `need` bytes (or everything unpinned, if that is less),
 * least recently used first. An object nobody is reading goes whole; an object with pinned
 * blocks (being read, verified or prefetched into) only loses what is needed, low indexes
 * first. Call index.flushAccess() first so recent reads count.
 */
export function planEviction(index: CacheIndex, need: number, pins: Pins): Victim[] {
  const victims: Victim[] = [];
  let planned = 0;
  for (const key of index.lruKeys()) {
    if (planned >= need) break;
    if (pins.isObjectPinned(key)) continue;
    const blocks = index.blocksOf(key);
    const inUse = blocks.some((b) => pins.isPinned(key, b.index));
    const victim: Victim = { key, indexes: [], bytes: 0 };
    for (const block of blocks) {
      if (inUse && planned >= need) break;
      if (pins.isPinned(key, block.index)) continue;
      victim.indexes.push(block.index);
      victim.bytes += block.bytes;
      planned += block.bytes;
    }
    if (victim.indexes.length > 0) victims.push(victim);
  }
  return victims;
}
