// One file of a package as library users see it: plain JavaScript metadata, the physical
// key as a URL string, and byte accessors that go through the verified read path.
import { toPlain, type PlainJson } from "../manifest/json-value.js";
import { hashType, hashValue, userMeta, type ManifestEntry } from "../manifest/manifest.js";
import type { LogicalKey } from "../types.js";

export interface EntryBytesReader {
  bytes(entry: ManifestEntry, signal?: AbortSignal): Promise<Buffer>;
  chunks(entry: ManifestEntry, chunkBytes: number): AsyncGenerator<Buffer>;
  /** A local file holding the entry's verified bytes, unchanged since (installed-copies.ts). */
  cachedPath?(entry: ManifestEntry): Promise<string | undefined>;
}

/** Pieces of 8 MiB: large enough for few cache reads, small enough to bound memory. */
export const DEFAULT_CHUNK_BYTES = 8 * 1024 * 1024;

export class PackageEntry {
  constructor(
    readonly raw: ManifestEntry,
    private readonly reader: EntryBytesReader,
  ) {}

  get logicalKey(): LogicalKey {
    return this.raw.logicalKey;
  }

  get size(): number {
    return this.raw.size;
  }

  get hash(): { type: string; value: string } {
    return { type: hashType(this.raw), value: hashValue(this.raw) };
  }

  get physicalKey(): string {
    return this.raw.physicalKey.toString();
  }

  /**
   * A local file with this entry's bytes, as quilt3's get_cached_path: an installed copy
   * (`download`/`quilt install` from this cache) still unchanged since it was verified, else
   * undefined. Nothing is fetched; the bytes themselves are `getBytes()`.
   */
  async getCachedPath(): Promise<string | undefined> {
    return this.reader.cachedPath?.(this.raw);
  }

  /** The entry's whole meta object (user data under "user_meta"). */
  get meta(): PlainJson {
    return toPlain(this.raw.meta);
  }

  /** The user metadata. */
  get metadata(): PlainJson {
    return toPlain(userMeta(this.raw.meta));
  }

  isFile(): true {
    return true;
  }

  /**
   * The bytes, verified against the manifest hash (through the local cache when there is
   * one). `signal` gives up at once, whatever the network is doing (a stalled fetch too).
   */
  getBytes(opts: { signal?: AbortSignal } = {}): Promise<Buffer> {
    return this.reader.bytes(this.raw, opts.signal);
  }

  /**
   * The bytes in pieces, in order, for entries too large to hold in memory: the whole entry
   * is fetched into the local cache and verified there before the first piece is yielded.
   */
  chunks(chunkBytes = DEFAULT_CHUNK_BYTES): AsyncGenerator<Buffer> {
    return this.reader.chunks(this.raw, chunkBytes);
  }

  async getText(encoding: BufferEncoding = "utf8"): Promise<string> {
    return (await this.getBytes()).toString(encoding);
  }

  async getJson<T = unknown>(): Promise<T> {
    return JSON.parse(await this.getText()) as T;
  }

  toString(): string {
    return `PackageEntry('${this.physicalKey}')`;
  }
}

/** A directory in a listing (`ls`): the key ends with "/". */
export class PackageDirectory {
  constructor(readonly logicalKey: string) {}

  isFile(): false {
    return false;
  }

  toString(): string {
    return this.logicalKey;
  }
}
