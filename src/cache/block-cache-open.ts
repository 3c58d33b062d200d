// What a BlockCache opens on, prepared before one is built: the options checked, the data
// and index directories made (private when created), the index refused on a network
// filesystem and opened, and whether it must be reconciled with the data directory (an
// unclean close, or an index of another data directory). Separate from BlockCache, which
// starts its background work on what this returns.
import { mkdir } from "node:fs/promises";
import { QuiltError } from "../errors.js";
import { assertChecksumSupport, layoutDir } from "./block-file.js";
import { checkBlockSize, DEFAULT_BLOCK_BYTES } from "./block-layout.js";
import { CacheIndex } from "./cache-index.js";
import type { BlockCacheOptions } from "./cache-options.js";
import { dataIdentity } from "./data-identity.js";
import { assertLocalDisk, networkFilesystem } from "./local-disk.js";

export interface OpenedCacheDirs {
  index: CacheIndex;
  /** The data directory's layout for this block size, where block files go. */
  layout: string;
  blockSize: number;
  needsReconcile: boolean;
  /** The data directory is on a local disk (BlockStoreOptions.localDisk). */
  localDisk: boolean;
}

export async function openCacheDirs(opts: BlockCacheOptions): Promise<OpenedCacheDirs> {
  assertChecksumSupport();
  const blockSize = opts.blockSize ?? DEFAULT_BLOCK_BYTES;
  checkBlockSize(blockSize);
  if (!Number.isSafeInteger(opts.maxBytes) || opts.maxBytes < 0)
    throw new QuiltError("EUSAGE", `invalid cache size ${opts.maxBytes}`);
  const layout = layoutDir(opts.dataDir, blockSize);
  // The data directory is private when created (src/private-dir.ts); one that exists keeps
  // its mode (it may be shared on purpose), and what is made inside it follows the umask.
  await mkdir(opts.dataDir, { recursive: true, mode: 0o700 });
  await mkdir(layout, { recursive: true });
  await mkdir(opts.indexDir, { recursive: true, mode: 0o700 });
  await assertLocalDisk(opts.indexDir);
  const { index, needsReconcile: unclean } = await CacheIndex.open(opts.indexDir, blockSize);
  // An index of another data directory (or of this one before it was deleted) is reset.
  const needsReconcile = index.matchDataDir(await dataIdentity(opts.dataDir)) || unclean;
  return {
    index,
    layout,
    blockSize,
    needsReconcile,
    localDisk: (await networkFilesystem(layout)) === undefined,
  };
}
