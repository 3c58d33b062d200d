// What the filesystem core reads file bytes through. The core knows nothing of caches or
// S3: the daemon plugs in the block cache's reader, tests plug in MemoryEntryReader. Each
// open file gets its own handle so that a reader can tell a sequential stream (prefetch
// ahead) from a random one per open(2), not per file.
import type { ManifestEntry } from "../manifest/manifest.js";

/** Whatever a reader wants to remember about one open file (its stream position, say). */
export type ReadHandle = unknown;

export interface EntryReader {
  /**
   * Called on every open(2) of a file. Must not touch storage: opening is a metadata
   * operation and stays fast on a cold cache.
   */
  open?(entry: ManifestEntry): ReadHandle | Promise<ReadHandle>;
  /**
   * Exactly `length` bytes at `offset` (the core never asks past the end of the file, nor
   * for zero bytes). Throws QuiltError ESTALE when the remote object changed, other
   * QuiltErrors for storage or integrity failures. `signal` aborts when the core stopped
   * waiting (its read deadline): the reader should drop work done only for this read.
   */
  read(
    entry: ManifestEntry,
    offset: number,
    length: number,
    handle: ReadHandle,
    signal?: AbortSignal,
  ): Promise<Buffer>;
  /**
   * True once the bytes of the entry at this logical key failed their manifest hash. The core then reports another
   * mtime for it, which makes the next open drop the kernel's page cache of the file (the
   * mount uses auto_cache), so no page of a condemned file outlives the verdict.
   */
  hasFailed?(logicalKey: string): boolean;
  /**
   * False while no entry has failed: every attribute asks `hasFailed`, and this spares the
   * core building each file's path (a walk up the index) to ask it.
   */
  anyFailed?(): boolean;
  /** Called once per successful `open`, when the last file descriptor sharing it is closed. */
  release?(handle: ReadHandle): void | Promise<void>;
}
