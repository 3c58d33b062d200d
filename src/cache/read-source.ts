// What a read of the block cache names as the origin of an object's bytes, and how it is
// asked: a full ObjectSource (named by endpoint and physical key, inspectable for
// checksums), or a bare ranged fetcher as tests pass, which gets a name of its own so its
// private blocks are never another fetcher's.
import type { ObjectSource } from "../storage/object-source.js";
import type { BlockFetcher } from "./block-loader.js";

/** Where an object's bytes come from: a full source (named, inspectable), or a bare ranged fetcher (tests). */
export type ReadSource = ObjectSource | BlockFetcher;

export interface ReadOptions {
  signal?: AbortSignal;
  /** Serve no unverified byte: a large object without chunk digests is verified whole first. */
  strict?: boolean;
  /** Called when the bytes served are not verified yet (the private path). */
  onUnverified?: () => void;
}

const anonymousIds = new WeakMap<BlockFetcher, string>();
let anonymousCount = 0;

export function asSource(src: ReadSource): ObjectSource {
  if (typeof src !== "function") return src;
  let id = anonymousIds.get(src);
  if (!id) {
    id = `anonymous ${process.pid}-${anonymousCount++}-${Math.random().toString(36).slice(2)}`;
    anonymousIds.set(src, id);
  }
  return { id, fetch: (range, signal) => src(range, signal) };
}

/** A bare signal stands for { signal }. */
export function readOpts(opts: ReadOptions | AbortSignal | undefined): ReadOptions {
  return opts instanceof AbortSignal ? { signal: opts } : (opts ?? {});
}
