// Which ObjectStore serves a registry or a physical key. One S3 store per process (it
// holds the connection pool and credentials) and one local store; both are created on
// first use so a purely local run never loads the AWS SDK's configuration.
import type { PhysicalKey } from "../manifest/physical-key.js";
import type { RegistryUrl } from "../manifest/registry-url.js";
import { LocalStore } from "./local-store.js";
import { ManifestCache } from "./manifest-cache.js";
import type { ObjectLocation, ObjectStore } from "./object-store.js";
import type { ObjectSource } from "./object-source.js";
import { Registry } from "./registry.js";
import { configuredEndpoint } from "./s3-endpoint.js";
import { LazyS3Store } from "./lazy-s3-store.js";
import type { S3StoreOptions } from "./s3-store.js";
import { sizeCheckedSource } from "./sized-source.js";
import { CountingStore, emptyCounts, type RequestCounts } from "./counting-store.js";
import type { FaultCounter } from "./fault-counters.js";

export class Stores {
  private s3Store: CountingStore | undefined;
  private localStore: CountingStore | undefined;

  constructor(private readonly s3Options: S3StoreOptions = {}) {}

  s3(): ObjectStore {
    this.s3Store ??= new CountingStore(new LazyS3Store(this.s3Options));
    return this.s3Store;
  }

  local(): ObjectStore {
    this.localStore ??= new CountingStore(new LocalStore());
    return this.localStore;
  }

  /** Requests made so far, per backend (a list page counts once per list call). */
  counts(): { s3: RequestCounts; local: RequestCounts } {
    return {
      s3: { ...(this.s3Store?.counts ?? emptyCounts()) },
      local: { ...(this.localStore?.counts ?? emptyCounts()) },
    };
  }

  /**
   * What makes a registry this registry, for caches keyed by registry: a local directory is
   * its file:// URL; an S3 bucket is its s3:// URL plus the endpoint this store talks to,
   * since `s3://data` on a local S3 server (moto, MinIO) and `s3://data` on AWS are different
   * buckets. The endpoint is the one the S3 client is built with (the endpoint option, else
   * AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL), or "aws": on AWS a bucket name is global, so
   * region and credentials do not change which bucket it is.
   */
  registryIdentity(url: RegistryUrl): string {
    if (url.kind === "file") return url.url;
    return `${url.url} endpoint=${normalizeEndpoint(configuredEndpoint(this.s3Options)?.url)}`;
  }

  forRegistry(url: RegistryUrl): ObjectStore {
    return url.kind === "s3" ? this.s3() : this.local();
  }

  /** The store and the pinned location of an entry's bytes. */
  forPhysicalKey(pk: PhysicalKey): { store: ObjectStore; loc: ObjectLocation } {
    if (pk.bucket === null)
      return { store: this.local(), loc: { bucket: "/", key: pk.path.replace(/^\/+/, "") } };
    return {
      store: this.s3(),
      loc: { bucket: pk.bucket, key: pk.path, ...(pk.versionId !== null && { versionId: pk.versionId }) },
    };
  }

  /**
   * One entry's bytes as the block cache reads them: ranged GETs pinned to the key's version,
   * named by endpoint and physical key (see object-source.ts), held to the entry's `size`
   * (an object of another size is refused: sized-source.ts). `faults` counts the retries
   * and failures of these GETs for whoever reads (a mount).
   */
  objectSource(pk: PhysicalKey, size: number, faults?: FaultCounter): ObjectSource {
    const { store, loc } = this.forPhysicalKey(pk);
    const where =
      pk.bucket === null ? "file" : `s3 ${normalizeEndpoint(configuredEndpoint(this.s3Options)?.url)}`;
    return sizeCheckedSource(
      this.rawSource(store, loc, `${where} ${pk.toString()}`, faults),
      size,
      pk.toString(),
    );
  }

  private rawSource(
    store: ObjectStore,
    loc: ObjectLocation,
    id: string,
    faults: FaultCounter | undefined,
  ): ObjectSource {
    const onRetry = faults && ((err: unknown) => faults.retried(err));
    return {
      id,
      fetch: (range, signal, pinEtag) =>
        store
          .get(loc.versionId === undefined && pinEtag !== undefined ? { ...loc, etag: pinEtag } : loc, {
            range,
            ...(signal !== undefined && { signal }),
            ...(onRetry && { onRetry }),
          })
          .catch((err: unknown) => {
            faults?.failed(err);
            throw err;
          }),
      inspect: async ({ parts }) => {
        const head = await store.head(loc);
        // Part checksums exist only where S3 keeps a composite SHA-256 (a multipart upload with
        // checksums); elsewhere the request is wasted, and a server that does not know it may
        // even answer with the object's body.
        const list =
          parts && head.compositeSha256 !== undefined && store.objectParts
            ? await store.objectParts(loc)
            : undefined;
        const pinEtag = loc.versionId === undefined ? head.etag : undefined;
        const version = loc.versionId ?? head.versionId ?? head.etag;
        return {
          size: head.size,
          ...(version !== undefined && { version }),
          ...(pinEtag !== undefined && { pinEtag }),
          ...(head.checksumSha256 !== undefined && { fullSha256: head.checksumSha256 }),
          ...(head.compositeSha256 !== undefined && { compositeSha256: head.compositeSha256 }),
          ...(head.compositeParts !== undefined && { compositeParts: head.compositeParts }),
          ...(list !== undefined && { parts: list }),
        };
      },
    };
  }

  async close(): Promise<void> {
    await Promise.all([this.s3Store?.close(), this.localStore?.close()]);
    this.s3Store = undefined;
    this.localStore = undefined;
  }
}

/** "http://HOST:9000/" and "http://host:9000" are one server; anything unparsable is kept as given. */
function normalizeEndpoint(endpoint: string | undefined): string {
  if (endpoint === undefined) return "aws";
  try {
    return new URL(endpoint).href.replace(/\/+$/, "");
  } catch {
    return endpoint;
  }
}

/**
 * A registry with its manifest cache in `manifestCacheDir` (null: in memory only), keyed by
 * the registry's identity: manifests fetched from one registry are never served for another.
 */
export function openRegistry(
  url: RegistryUrl,
  stores: Stores,
  opts: { manifestCacheDir: string | null },
): Registry {
  const cache = new ManifestCache(opts.manifestCacheDir, stores.registryIdentity(url));
  return new Registry(url, stores.forRegistry(url), cache);
}
