// Block arithmetic shared by the cache, its index and the readers: an object of `size` bytes
// is cut into fixed-size blocks, the last one shorter. Kept apart so the cache, verification
// and the prefetcher cannot disagree on where a block starts.
import { QuiltError } from "../errors.js";
import type { ByteRange } from "../storage/object-store.js";

/**
 * Default block size: 1 MiB. FUSE hands us reads of at most 128 KiB, so a block serves 8 of
 * them from one disk read and one checksum; S3 ranged GETs below ~1 MiB are dominated by
 * request latency, so a cold miss of one block is still a worthwhile request. Larger blocks
 * would waste bandwidth and cache space on random 4 KiB readers.
 */
export const DEFAULT_BLOCK_BYTES = 1024 * 1024;
/** Smallest allowed block size (4 KiB, one page), so tests can use tiny blocks. */
export const MIN_BLOCK_BYTES = 4096;
/** Largest allowed block size (8 MiB, one chunk): a block is read and checksummed whole on every miss. */
export const MAX_BLOCK_BYTES = 8 * 1024 * 1024;

/** The unit of verification (quilt3's first chunk size, 8 MiB): blocks must tile it. */
const CHUNK_BYTES = 8 * 1024 * 1024;

export function checkBlockSize(blockSize: number): void {
  if (
    !Number.isSafeInteger(blockSize) ||
    blockSize < MIN_BLOCK_BYTES ||
    blockSize > MAX_BLOCK_BYTES ||
    CHUNK_BYTES % blockSize !== 0
  ) {
    throw new QuiltError(
      "EUSAGE",
      `block size must divide 8 MiB (a power of two from ${MIN_BLOCK_BYTES} to ${CHUNK_BYTES} bytes), got ${blockSize}`,
      {
        hint: "blocks are verified in 8 MiB chunks (quilt3's sha2-256-chunked layout), so a block must never straddle two",
      },
    );
  }
}

export function blockCount(size: number, blockSize: number): number {
  return Math.ceil(size / blockSize);
}

/** The bytes [start, end) of block `index`. */
export function blockRange(index: number, size: number, blockSize: number): ByteRange {
  const start = index * blockSize;
  return { start, end: Math.min(size, start + blockSize) };
}

export function blockLength(index: number, size: number, blockSize: number): number {
  const { start, end } = blockRange(index, size, blockSize);
  return Math.max(0, end - start);
}

/** Consecutive indexes grouped into [first, last] runs of at most `maxBlocks` blocks each. */
export function toRuns(indexes: readonly number[], maxBlocks: number): [number, number][] {
  const runs: [number, number][] = [];
  for (const i of indexes) {
    const run = runs[runs.length - 1];
    if (run && run[1] === i - 1 && i - run[0] < maxBlocks) run[1] = i;
    else runs.push([i, i]);
  }
  return runs;
}
