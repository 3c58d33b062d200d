// The composition root: what a process (the library, a CLI command, the daemon) builds once
// from configuration and environment and passes down, instead of each assembling its own:
// the object stores (one S3 connection pool per S3 context), the block cache with its
// index, the manifest caches behind registries, the registry resolution rules. Library
// users get a process-wide default session; the CLI builds one per command, the daemon one
// for its life; tests build their own.
import { join } from "node:path";
import { BlockCache, type BlockCacheOptions } from "./cache/block-cache.js";
import { cacheClaims, cacheDataDir, cacheDir, cacheSizeBytes, s3Timeouts } from "./config.js";
import { makePrivateDir } from "./private-dir.js";
import { parsePackageSpec, type PackageSpec } from "./manifest/package-spec.js";
import { parseRegistryUrl, resolveRegistry, type RegistryUrl } from "./manifest/registry-url.js";
import { emptyCounts, type RequestCounts } from "./storage/counting-store.js";
import type { Registry } from "./storage/registry.js";
import type { S3StoreOptions } from "./storage/s3-store.js";
import { openRegistry, Stores } from "./storage/stores.js";

export interface SessionOptions {
  /** Root of the local caches (manifests, data blocks); default QUILT_CACHE_DIR or ~/.cache/quilt-ts. */
  cacheDir?: string;
  /** Data blocks (may be on a shared filesystem); default QUILT_CACHE_DATA_DIR or <cacheDir>/data. */
  dataDir?: string;
  /**
   * The block cache's LMDB index, on local disk: one per process family (the library's
   * default <cacheDir>/index/library; the daemon's lives in its state directory).
   */
  indexDir?: string;
  /** S3 client settings (endpoint, region, profile, timeouts...) of `stores`; default from the environment. */
  s3?: S3StoreOptions;
  /** Size limit of the data cache in bytes; default QUILT_CACHE_SIZE or 10 GiB. */
  cacheBytes?: number;
  /** When the block cache adopts files its index does not know (default in the background, see BlockCacheOptions). */
  reconcile?: BlockCacheOptions["reconcile"];
  env?: NodeJS.ProcessEnv;
}

export class Session {
  /** The stores of this session's own S3 context (its options, else its environment). */
  readonly stores: Stores;
  readonly cacheDir: string;
  /** The block files, shared by content with the daemon and with other nodes naming the same directory. */
  readonly dataDir: string;
  readonly indexDir: string;
  readonly env: NodeJS.ProcessEnv;
  private readonly registries = new Map<string, Registry>();
  /** Stores of other S3 contexts (the daemon's mounts name their own), by the caller's key. */
  private readonly otherStores = new Map<string, Stores>();
  private readonly cacheBytes: number;
  private readonly reconcile: BlockCacheOptions["reconcile"];
  /** The cache directory is the default one, which is made private (src/private-dir.ts). */
  private readonly defaultCacheDir: boolean;
  private blocks: Promise<BlockCache> | undefined;

  constructor(opts: SessionOptions = {}) {
    this.env = opts.env ?? process.env;
    this.cacheDir = opts.cacheDir ?? cacheDir(this.env);
    this.dataDir = opts.dataDir ?? cacheDataDir(this.env, this.cacheDir);
    this.indexDir = opts.indexDir ?? join(this.cacheDir, "index", "library");
    this.defaultCacheDir = opts.cacheDir === undefined && !this.env.QUILT_CACHE_DIR;
    this.cacheBytes = opts.cacheBytes ?? cacheSizeBytes(this.env);
    this.reconcile = opts.reconcile;
    // QUILT_S3_CONNECT_TIMEOUT / QUILT_S3_IDLE_TIMEOUT, unless the caller set timeouts itself;
    // a bad value fails here, when the session is built, not at its first request.
    this.stores = new Stores({ ...s3Timeouts(this.env), ...opts.s3 });
  }

  /**
   * The data cache, shared with the daemon by content (same data directory); each process
   * family keeps its own LMDB index (`indexDir`).
   */
  blockCache(): Promise<BlockCache> {
    this.blocks ??= makePrivateDir(this.cacheDir, { tighten: this.defaultCacheDir }).then(() =>
      BlockCache.open({
        dataDir: this.dataDir,
        indexDir: this.indexDir,
        maxBytes: this.cacheBytes,
        ...(!cacheClaims(this.env) && { claims: false }),
        ...(this.reconcile !== undefined && { reconcile: this.reconcile }),
      }),
    );
    return this.blocks;
  }

  /**
   * Stores that use exactly `s3` (one connection pool per `key`), whatever this session's
   * own S3 context is: the daemon serves mounts requested from shells with other endpoints,
   * regions and profiles. Timeouts stay the session's (its environment's), like its cache settings.
   */
  storesFor(key: string, s3: S3StoreOptions): Stores {
    let stores = this.otherStores.get(key);
    if (!stores) {
      stores = new Stores({ ...s3Timeouts(this.env), ...s3 });
      this.otherStores.set(key, stores);
    }
    return stores;
  }

  /** Requests made so far through every store of this session, per backend. */
  requestCounts(): { s3: RequestCounts; local: RequestCounts } {
    const total = { s3: emptyCounts(), local: emptyCounts() };
    for (const stores of [this.stores, ...this.otherStores.values()]) {
      const c = stores.counts();
      for (const backend of ["s3", "local"] as const) {
        for (const k of Object.keys(total[backend]) as (keyof RequestCounts)[])
          total[backend][k] += c[backend][k];
      }
    }
    return total;
  }

  /** --registry, else QUILT_REGISTRY, else quilt3's local registry. */
  registryUrl(explicit?: string): RegistryUrl {
    return explicit === undefined ? resolveRegistry(undefined, this.env) : parseRegistryUrl(explicit);
  }

  /** The registry at `url` through this session's stores, one per URL for the session's life. */
  registry(url: RegistryUrl): Registry {
    let r = this.registries.get(url.url);
    if (!r) {
      r = this.openRegistry(url, this.stores);
      this.registries.set(url.url, r);
    }
    return r;
  }

  /**
   * A registry through other stores (see storesFor), opened afresh on every call: its
   * manifest cache's memory must not outlive the request, since a daemon that kept the
   * million-entry manifests of every version it mounted would not stay small.
   */
  registryThrough(url: RegistryUrl, stores: Stores): Registry {
    return this.openRegistry(url, stores);
  }

  /** `allowPath`: accept a quilt+ URI's `&path=` (the caller honours it); refused otherwise. */
  parseSpec(spec: string, registry?: string, allowPath = false): PackageSpec {
    return parsePackageSpec(spec, { registry, env: this.env, allowPath });
  }

  /** Manifests are cached here, per registry identity (stores.ts). */
  get manifestCacheDir(): string {
    return join(this.cacheDir, "manifests");
  }

  private openRegistry(url: RegistryUrl, stores: Stores): Registry {
    return openRegistry(url, stores, { manifestCacheDir: this.manifestCacheDir });
  }

  async close(): Promise<void> {
    const blocks = this.blocks;
    this.blocks = undefined;
    await (await blocks)?.close();
    await Promise.all([this.stores, ...this.otherStores.values()].map((s) => s.close()));
    this.otherStores.clear();
    this.registries.clear();
  }
}

let defaultSession: Session | undefined;

export function getDefaultSession(): Session {
  defaultSession ??= new Session();
  return defaultSession;
}

/** Replaces the process-wide session (e.g. to point at a custom S3 endpoint). */
export function configure(opts: SessionOptions): Session {
  defaultSession = new Session(opts);
  return defaultSession;
}
