// What a mount reads file bytes through: one ObjectReader per open file handle over the
// shared block cache (so sequential readers get a growing prefetch window and random
// readers fetch only what they need), fetching with ranged GETs pinned to the version.
import type { BlockCache } from "../cache/block-cache.js";
import { cacheObjectForEntry } from "../cache/content-key.js";
import { ObjectReader } from "../cache/object-reader.js";
import type { EntryReader, ReadHandle } from "../fs/entry-reader.js";
import type { ManifestEntry } from "../manifest/manifest.js";
import { FaultCounter } from "../storage/fault-counters.js";
import type { ObjectSource } from "../storage/object-source.js";
import type { Stores } from "../storage/stores.js";
import { isQuiltError } from "../errors.js";

export class MountEntryReader implements EntryReader {
  /** Bytes returned to readers of this mount. */
  bytesRead = 0;
  /** Logical keys some of whose bytes were served before they could be verified. */
  readonly unverified = new Set<string>();
  /** Logical keys whose bytes failed their manifest hash or size (reads of them fail), with why. */
  readonly failed = new Map<string, string>();

  /** Retries and storage failures of this mount's fetches (`quilt mounts --json`). */
  readonly faults = new FaultCounter();
  /** Requests for bytes this mount's readers caused (GETs, or reads of a local registry's files), and the bytes they brought. */
  gets = 0;
  fetchedBytes = 0;

  constructor(
    private readonly cache: BlockCache,
    private readonly stores: Stores,
    private readonly strict = false,
  ) {}

  open(entry: ManifestEntry): ReadHandle {
    return new ObjectReader(
      this.cache,
      cacheObjectForEntry(entry),
      this.counted(this.stores.objectSource(entry.physicalKey, entry.size, this.faults)),
      {
        strict: this.strict,
        onUnverified: () => this.unverified.add(entry.logicalKey),
      },
    );
  }

  /** The source with its fetches counted for this mount (a node's monitoring reads them per mount). */
  private counted(source: ObjectSource): ObjectSource {
    return {
      ...source,
      fetch: async (range, signal, pinEtag) => {
        this.gets++;
        const bytes = await source.fetch(range, signal, pinEtag);
        this.fetchedBytes += bytes.length;
        return bytes;
      },
    };
  }

  async read(
    entry: ManifestEntry,
    offset: number,
    length: number,
    handle: ReadHandle,
    signal?: AbortSignal,
  ): Promise<Buffer> {
    let bytes: Buffer;
    try {
      bytes = await (handle as ObjectReader).read(offset, length, signal);
    } catch (err) {
      if (isQuiltError(err, "EHASHMISMATCH")) this.failed.set(entry.logicalKey, err.message);
      throw err;
    }
    // A chunk damaged in transit fails one read, not the file: once it reads, it is not failed.
    if (this.failed.size > 0) this.failed.delete(entry.logicalKey);
    this.bytesRead += bytes.length;
    return bytes;
  }

  /** The file failed verification: its kernel page cache must not outlive the verdict. */
  hasFailed(logicalKey: string): boolean {
    return this.failed.size > 0 && this.failed.has(logicalKey);
  }

  anyFailed(): boolean {
    return this.failed.size > 0;
  }

  async release(handle: ReadHandle): Promise<void> {
    await (handle as ObjectReader).close();
  }
}
