// How a BlockCache's parts are built from its options and wired to each other: the block
// store that holds the size limit, the loaders that fetch (one fetch per block, claims
// shared with other daemons), the verification planner, the private path of objects
// verified whole, the re-hash check, the range reader and what is held of an object.
// Separate from BlockCache so that the class reads as what a cache does, and this file as
// which part gets which setting.
import { BlockLoader } from "./block-loader.js";
import { BlockStore } from "./block-store.js";
import type { CacheIndex } from "./cache-index.js";
import { DEFAULTS, type BlockCacheOptions } from "./cache-options.js";
import type { CacheCounters } from "./cache-stats.js";
import { CachedObjectCheck } from "./cached-object-check.js";
import { ChunkLoader } from "./chunk-loader.js";
import { digestsDir } from "./digest-files.js";
import { CLAIM_TIMES, claimsDir, FetchClaims } from "./fetch-claims.js";
import { ObjectPresence } from "./object-presence.js";
import { SpanReader } from "./span-reader.js";
import { UnverifiedObjects } from "./unverified-objects.js";
import { VerificationPlanner } from "./verification-plan.js";

export interface BlockCacheSettings {
  index: CacheIndex;
  layout: string;
  opts: BlockCacheOptions;
  blockSize: number;
  /** The data directory is on a local disk (BlockStoreOptions.localDisk). */
  localDisk: boolean;
  counters: CacheCounters;
  wholeObjectBytes: number;
  fetchConcurrency: number;
  /** Registers the work so that closing the cache waits for it. */
  track: <T>(op: () => Promise<T>) => Promise<T>;
  /** Throws once the cache is closed. */
  checkOpen: () => void;
}

export interface BlockCacheParts {
  store: BlockStore;
  chunks: ChunkLoader;
  claims: FetchClaims | undefined;
  planner: VerificationPlanner;
  unverified: UnverifiedObjects;
  check: CachedObjectCheck;
  reader: SpanReader;
  presence: ObjectPresence;
}

export function buildBlockCacheParts(s: BlockCacheSettings): BlockCacheParts {
  const { index, layout, opts, blockSize, counters, track } = s;
  const memoryBytes = opts.memoryBytes ?? DEFAULTS.memoryBytes;
  const store = new BlockStore({
    layout,
    index,
    maxBytes: opts.maxBytes,
    blockSize,
    memoryBytes,
    counters,
    localDisk: s.localDisk,
  });
  const maxFetchBlocks = Math.max(1, Math.floor((opts.maxFetchBytes ?? DEFAULTS.maxFetchBytes) / blockSize));
  const loader = new BlockLoader(store, counters, maxFetchBlocks);
  const claims =
    opts.claims === false
      ? undefined
      : new FetchClaims(claimsDir(layout), counters, { ...CLAIM_TIMES, ...opts.claims });
  const chunks = new ChunkLoader(store, loader, counters, claims);
  const planner = new VerificationPlanner(index, counters, blockSize, s.wholeObjectBytes, digestsDir(layout));
  const unverified = new UnverifiedObjects({
    store,
    loader,
    counters,
    maxBytes: opts.maxBytes,
    recordDigests: (obj, digests) => planner.recordDigests(obj, digests),
    track,
  });
  const presence = new ObjectPresence({ store, index, planner, blockSize });
  const check = new CachedObjectCheck({
    store,
    index,
    counters,
    planner,
    chunks,
    blockSize,
    isComplete: (obj) => presence.isComplete(obj),
    track,
  });
  const reader = new SpanReader({
    store,
    index,
    counters,
    planner,
    unverified,
    chunks,
    blockSize,
    fetchConcurrency: s.fetchConcurrency,
    track,
    checkOpen: s.checkOpen,
  });
  return { store, chunks, claims, planner, unverified, check, reader, presence };
}
