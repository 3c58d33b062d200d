// An in-memory ObjectStore for unit tests: versioned buckets like S3 (every put is a new
// version, old versions stay readable by versionId, deletes leave delete markers), request
// counters so a test can assert "zero S3 requests" or "one fetch per block", and failure
// injection (503s, dropped or refused connections) that goes through the same retry policy
// as the S3 store, so upper layers are tested against realistic failures without a server.
import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { QuiltError } from "../errors.js";
import { faultError, InjectedFaults, type Fault, type FaultRequest, type StoreOp } from "./memory-faults.js";
import type {
  GetOptions,
  ListEntry,
  ListOptions,
  ObjectHead,
  ObjectLocation,
  ObjectStore,
  PutBody,
  PutOptions,
  PutResult,
} from "./object-store.js";
export { faultError, type Fault, type FaultRequest, type StoreOp } from "./memory-faults.js";
import {
  DEFAULT_RETRY_POLICY,
  RetriesExhausted,
  exhaustedToQuiltError,
  httpStatusOf,
  withRetry,
  type RetryPolicy,
} from "./retry.js";
import { compareCodePoints } from "../code-point-order.js";
import {
  checkRange,
  clampRange,
  describeLocation,
  foldDelimited,
  partRanges,
  partSizeFor,
  readBody,
  sameEtag,
  throwIfAborted,
} from "./store-helpers.js";

export interface MemoryStoreOptions {
  /** Keep old versions and hand out versionIds (default true, like the test buckets). */
  versioned?: boolean;
  /** Retries for injected transient faults; delays default to a few ms so tests stay fast. */
  retry?: Partial<RetryPolicy>;
  /** Objects and prefixes per list request, like S3's MaxKeys (default 1000). */
  listPageSize?: number;
  /** Puts of at least this many bytes get a multipart-style ETag `"<md5>-<parts>"` (default 8 MiB, as quilt3). */
  multipartThreshold?: number;
  /** Part size behind that ETag, doubled for huge objects like a real upload (default 8 MiB). */
  partSize?: number;
}

interface Version {
  versionId: string | undefined;
  /** null marks a delete marker. */
  data: Buffer | null;
  etag: string;
  lastModified: Date;
  checksumSha256?: string;
}

/** Test retries: the production attempt count, with delays short enough not to slow tests. */
const MEMORY_RETRY_POLICY: RetryPolicy = {
  maxAttempts: DEFAULT_RETRY_POLICY.maxAttempts,
  baseDelayMs: 1,
  maxDelayMs: 5,
};
/** 8 MiB: quilt3's multipart threshold and part size. */
const DEFAULT_MULTIPART_BYTES = 8 * 1024 * 1024;
const S3_MAX_KEYS = 1000;
const MEMORY_ENDPOINT = { url: "memory://", hint: "An injected fault (MemoryStore.failNext/failWhen)." };
export class MemoryStore implements ObjectStore {
  readonly scheme = "memory" as const;
  /** Requests served per operation, counting every attempt (a retried request counts twice). */
  readonly counts: Record<StoreOp, number> = { get: 0, head: 0, put: 0, list: 0, delete: 0, copy: 0 };
  /** Body bytes returned by get/getStream. */
  bytesFetched = 0;

  private readonly buckets = new Map<string, Map<string, Version[]>>();
  private readonly faults = new InjectedFaults();
  private readonly versioned: boolean;
  private readonly retry: RetryPolicy;
  private readonly pageSize: number;
  private readonly multipartThreshold: number;
  private readonly partSize: number;

  constructor(opts: MemoryStoreOptions = {}) {
    this.versioned = opts.versioned ?? true;
    this.retry = { ...MEMORY_RETRY_POLICY, ...opts.retry };
    this.pageSize = opts.listPageSize ?? S3_MAX_KEYS;
    this.multipartThreshold = opts.multipartThreshold ?? DEFAULT_MULTIPART_BYTES;
    this.partSize = opts.partSize ?? DEFAULT_MULTIPART_BYTES;
  }

  /** The next `times` requests of `op` fail with `fault` (each retry attempt consumes one). */
  failNext(op: StoreOp, fault: Fault, times = 1): void {
    this.faults.failNext(op, fault, times);
  }

  /** Every request is offered to `predicate`; a returned fault fails it. Returns an unregister function. */
  failWhen(predicate: (req: FaultRequest) => Fault | undefined): () => void {
    return this.faults.failWhen(predicate);
  }

  resetCounts(): void {
    for (const op of Object.keys(this.counts) as StoreOp[]) this.counts[op] = 0;
    this.bytesFetched = 0;
  }

  /** Version ids of a key, oldest first (delete markers included), for assertions. */
  versionsOf(bucket: string, key: string): (string | undefined)[] {
    return (this.buckets.get(bucket)?.get(key) ?? []).map((v) => v.versionId);
  }

  async get(loc: ObjectLocation, opts: GetOptions = {}): Promise<Buffer> {
    checkRange(opts.range);
    return this.request("get", loc, opts.signal, () => {
      const v = this.resolve(loc);
      const { start, end } = clampRange(opts.range, v.size);
      const out = Buffer.from(v.data.subarray(start, end));
      this.bytesFetched += out.length;
      return out;
    });
  }

  async getStream(loc: ObjectLocation, opts: GetOptions = {}): Promise<Readable> {
    return Readable.from([await this.get(loc, opts)], { objectMode: false });
  }

  async head(loc: ObjectLocation): Promise<ObjectHead> {
    return this.request("head", loc, undefined, () => {
      const v = this.resolve(loc);
      return {
        size: v.size,
        etag: v.etag,
        versionId: v.versionId,
        lastModified: v.lastModified,
        checksumSha256: v.checksumSha256,
      };
    });
  }

  async put(
    loc: Omit<ObjectLocation, "versionId" | "etag">,
    body: PutBody,
    opts: PutOptions = {},
  ): Promise<PutResult> {
    throwIfAborted(opts.signal);
    const data = Buffer.from(await readBody(body));
    const result = await this.request("put", loc, opts.signal, () => this.store(loc.bucket, loc.key, data));
    opts.onProgress?.(data.length);
    return result;
  }

  async *list(bucket: string, prefix: string, opts: ListOptions = {}): AsyncGenerator<ListEntry> {
    const objects: (ListEntry & { kind: "object" })[] = [];
    for (const [key, versions] of this.buckets.get(bucket) ?? []) {
      const latest = versions.at(-1);
      if (!key.startsWith(prefix) || !latest?.data) continue;
      const { etag, lastModified, versionId } = latest;
      objects.push({ kind: "object", key, size: latest.data.length, etag, lastModified, versionId });
    }
    objects.sort((a, b) => compareCodePoints(a.key, b.key));
    const entries: ListEntry[] = [];
    for await (const e of foldDelimited(objects, prefix, opts.delimiter)) entries.push(e);
    // One request per page, as S3 pages by MaxKeys (an empty listing is still one request).
    for (let i = 0; i === 0 || i < entries.length; i += this.pageSize) {
      await this.request("list", { bucket, key: prefix }, undefined, () => undefined);
      yield* entries.slice(i, i + this.pageSize);
    }
  }

  async delete(loc: ObjectLocation): Promise<void> {
    await this.request("delete", loc, undefined, () => {
      const versions = this.buckets.get(loc.bucket)?.get(loc.key);
      if (!versions) return; // S3 deletes of missing keys succeed
      if (loc.versionId !== undefined) {
        const i = versions.findIndex((v) => v.versionId === loc.versionId);
        if (i >= 0) versions.splice(i, 1);
      } else if (this.versioned) {
        if (versions.at(-1)?.data !== null) {
          versions.push({ versionId: newVersionId(), data: null, etag: "", lastModified: new Date() });
        }
      } else {
        versions.length = 0;
      }
      if (versions.length === 0) this.buckets.get(loc.bucket)?.delete(loc.key);
    });
  }

  async copy(
    src: ObjectLocation,
    dst: Omit<ObjectLocation, "versionId" | "etag">,
    opts: PutOptions = {},
  ): Promise<PutResult> {
    throwIfAborted(opts.signal);
    const result = await this.request("copy", src, opts.signal, () => {
      const v = this.resolve(src);
      return { ...this.store(dst.bucket, dst.key, Buffer.from(v.data)), size: v.size };
    });
    opts.onProgress?.(result.size);
    return { versionId: result.versionId, etag: result.etag };
  }

  async close(): Promise<void> {}

  /** The version a read of `loc` sees, or the QuiltError S3 would give. */
  private resolve(loc: ObjectLocation): Version & { data: Buffer; size: number } {
    const versions = this.buckets.get(loc.bucket)?.get(loc.key) ?? [];
    const where = `memory://${describeLocation(loc)}`;
    let v: Version | undefined;
    if (loc.versionId !== undefined) {
      v = versions.find((x) => x.versionId === loc.versionId);
      if (!v?.data) throw new QuiltError("ESTALE", `${where}: the pinned version no longer exists`);
    } else {
      v = versions.at(-1);
      if (!v?.data) throw new QuiltError("ENOTFOUND", `${where}: no such object`);
    }
    if (loc.etag !== undefined && !sameEtag(loc.etag, v.etag)) {
      throw new QuiltError("ESTALE", `${where}: the object changed (etag is now ${v.etag})`);
    }
    return { ...v, data: v.data, size: v.data.length };
  }

  private store(bucket: string, key: string, data: Buffer): PutResult {
    let keys = this.buckets.get(bucket);
    if (!keys) this.buckets.set(bucket, (keys = new Map()));
    const version: Version = {
      versionId: this.versioned ? newVersionId() : undefined,
      data,
      etag:
        data.length < this.multipartThreshold
          ? md5Etag(data)
          : multipartEtag(data, partSizeFor(data.length, this.partSize)),
      lastModified: new Date(),
      checksumSha256:
        data.length < this.multipartThreshold
          ? createHash("sha256").update(data).digest("base64")
          : undefined,
    };
    const versions = keys.get(key) ?? [];
    if (!this.versioned) versions.length = 0;
    versions.push(version);
    keys.set(key, versions);
    return { versionId: version.versionId, etag: version.etag };
  }

  /** Serves one request with fault injection and the retry policy; failures become QuiltErrors. */
  private async request<T>(
    op: StoreOp,
    loc: { bucket: string; key: string },
    signal: AbortSignal | undefined,
    serve: () => T,
  ): Promise<T> {
    try {
      return await withRetry(
        async (attempt) => {
          throwIfAborted(signal);
          this.counts[op]++;
          const fault = this.faults.take({ op, bucket: loc.bucket, key: loc.key, attempt });
          if (fault !== undefined) throw faultError(fault);
          return serve();
        },
        this.retry,
        { signal },
      );
    } catch (err) {
      const what = `${op} memory://${describeLocation(loc)}`;
      if (err instanceof RetriesExhausted) throw exhaustedToQuiltError(err, what, MEMORY_ENDPOINT);
      if (err instanceof QuiltError) throw err;
      const status = httpStatusOf(err);
      const code = status === 404 ? "ENOTFOUND" : status === 412 ? "ESTALE" : "ESTORAGE";
      throw new QuiltError(code, `${what}: ${err instanceof Error ? err.message : String(err)}`, {
        cause: err,
      });
    }
  }
}

function newVersionId(): string {
  return randomBytes(16).toString("base64url");
}

function md5Etag(data: Buffer): string {
  return `"${createHash("md5").update(data).digest("hex")}"`;
}

/** S3's ETag of a multipart upload: `"<md5 of the part md5s>-<parts>"`. */
function multipartEtag(data: Buffer, partSize: number): string {
  const parts = partRanges(data.length, partSize).map((p) =>
    createHash("md5").update(data.subarray(p.start, p.end)).digest(),
  );
  return `"${createHash("md5").update(Buffer.concat(parts)).digest("hex")}-${parts.length}"`;
}
