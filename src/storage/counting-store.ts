// Counts requests and bytes by operation around any store, so the daemon's stats can say
// how many GETs, HEADs and LISTs a mount cost (the "zero requests for metadata" claim is
// checked against these numbers).
import { pipeline, Transform, type Readable } from "node:stream";
import type {
  GetOptions,
  ListEntry,
  ListOptions,
  ObjectHead,
  ObjectPart,
  ObjectLocation,
  ObjectStore,
  PutBody,
  PutOptions,
  PutResult,
} from "./object-store.js";

export interface RequestCounts {
  get: number;
  head: number;
  list: number;
  put: number;
  copy: number;
  delete: number;
  bytesFetched: number;
}

export function emptyCounts(): RequestCounts {
  return { get: 0, head: 0, list: 0, put: 0, copy: 0, delete: 0, bytesFetched: 0 };
}

export class CountingStore implements ObjectStore {
  readonly counts = emptyCounts();

  constructor(private readonly inner: ObjectStore) {}

  get scheme() {
    return this.inner.scheme;
  }

  async get(loc: ObjectLocation, opts?: GetOptions): Promise<Buffer> {
    this.counts.get++;
    const b = await this.inner.get(loc, opts);
    this.counts.bytesFetched += b.length;
    return b;
  }

  async getStream(loc: ObjectLocation, opts?: GetOptions): Promise<Readable> {
    this.counts.get++;
    const s = await this.inner.getStream(loc, opts);
    // Counted in a stage of their own: a "data" listener on `s` would start it flowing, and
    // bytes emitted before the caller reads would be lost to it.
    const counted = new Transform({
      transform: (chunk: Buffer, _encoding, done) => {
        this.counts.bytesFetched += chunk.length;
        done(null, chunk);
      },
    });
    pipeline(s, counted, () => undefined);
    return counted;
  }

  /** Counted as a HEAD: one small metadata request. */
  async objectParts(loc: ObjectLocation): Promise<ObjectPart[] | undefined> {
    if (!this.inner.objectParts) return undefined;
    this.counts.head++;
    return this.inner.objectParts(loc);
  }

  head(loc: ObjectLocation): Promise<ObjectHead> {
    this.counts.head++;
    return this.inner.head(loc);
  }

  put(loc: Omit<ObjectLocation, "versionId" | "etag">, body: PutBody, opts?: PutOptions): Promise<PutResult> {
    this.counts.put++;
    return this.inner.put(loc, body, opts);
  }

  async *list(bucket: string, prefix: string, opts?: ListOptions): AsyncIterable<ListEntry> {
    this.counts.list++;
    yield* this.inner.list(bucket, prefix, opts);
  }

  delete(loc: ObjectLocation): Promise<void> {
    this.counts.delete++;
    return this.inner.delete(loc);
  }

  copy(
    src: ObjectLocation,
    dst: Omit<ObjectLocation, "versionId" | "etag">,
    opts?: PutOptions,
  ): Promise<PutResult> {
    this.counts.copy++;
    return this.inner.copy(src, dst, opts);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
