// An EntryReader with no storage behind it: each entry's bytes are generated from its
// logical key, so any range can be produced (and checked) without keeping files in memory.
// It counts what it is asked and can be told to fail, which is how tests prove that
// metadata operations never read and that a failed read maps to the right errno.
import { QuiltError } from "../errors.js";
import type { ManifestEntry } from "../manifest/manifest.js";
import type { EntryReader, ReadHandle } from "./entry-reader.js";

interface MemoryHandle {
  id: number;
  key: string;
}

export class MemoryEntryReader implements EntryReader {
  opens = 0;
  reads = 0;
  releases = 0;
  bytesRead = 0;
  /** Handles opened and not yet released. */
  readonly liveHandles = new Set<number>();
  /** Errors to throw, per logical key, one per read, in order. */
  private readonly failures = new Map<string, Error[]>();
  private nextId = 1;

  constructor(private readonly options: { delayMs?: number } = {}) {}

  /** The next read of `key` (one call, whatever its range) throws `err`. */
  failNextRead(
    key: string,
    err: Error = new QuiltError("ESTORAGE", `injected failure reading ${key}`),
  ): void {
    const list = this.failures.get(key) ?? [];
    list.push(err);
    this.failures.set(key, list);
  }

  /** Drops the failures not yet thrown (storage is back). */
  clearFailures(): void {
    this.failures.clear();
  }

  open(entry: ManifestEntry): ReadHandle {
    this.opens++;
    const h: MemoryHandle = { id: this.nextId++, key: entry.logicalKey };
    this.liveHandles.add(h.id);
    return h;
  }

  async read(entry: ManifestEntry, offset: number, length: number, handle: ReadHandle): Promise<Buffer> {
    this.reads++;
    const h = handle as MemoryHandle | undefined;
    if (h === undefined || !this.liveHandles.has(h.id) || h.key !== entry.logicalKey) {
      throw new QuiltError(
        "EINTERNAL",
        `read of ${entry.logicalKey} through a handle that is not open for it`,
      );
    }
    if (this.options.delayMs) await new Promise((r) => setTimeout(r, this.options.delayMs));
    const queued = this.failures.get(entry.logicalKey);
    const failure = queued?.shift();
    if (queued?.length === 0) this.failures.delete(entry.logicalKey);
    if (failure) throw failure;
    if (offset < 0 || length <= 0 || offset + length > entry.size) {
      throw new QuiltError(
        "EINTERNAL",
        `read of ${entry.logicalKey} [${offset}, +${length}) outside its ${entry.size} bytes`,
      );
    }
    this.bytesRead += length;
    return entryBytes(entry.logicalKey, offset, length);
  }

  release(handle: ReadHandle): void {
    this.releases++;
    this.liveHandles.delete((handle as MemoryHandle).id);
  }
}

/** Bytes [offset, offset + length) of the content generated for `key`. */
export function entryBytes(key: string, offset: number, length: number): Buffer {
  const seed = fnv1a(key);
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) {
    const pos = offset + i;
    // One mixed 32-bit word per 4 bytes of the file; the byte is its (pos % 4)-th byte.
    out[i] = (mix(seed ^ Math.floor(pos / 4)) >>> ((pos & 3) * 8)) & 0xff;
  }
  return out;
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** murmur3's 32-bit finalizer: consecutive words come out unrelated. */
function mix(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}
