// What every library call needs and should share: the object stores (one S3 connection
// pool per process), the manifest cache, the registry resolution rules. Library users get
// a process-wide default; tests and the daemon build their own.
import { join } from "node:path";
import { BlockCache } from "../cache/block-cache.js";
import { cacheClaims, cacheDataDir, cacheDir, cacheSizeBytes, s3Timeouts } from "../config.js";
import { makePrivateDir } from "../private-dir.js";
import { parsePackageSpec, type PackageSpec } from "../manifest/package-spec.js";
import { parseRegistryUrl, resolveRegistry, type RegistryUrl } from "../manifest/registry-url.js";
import type { Registry } from "../storage/registry.js";
import type { S3StoreOptions } from "../storage/s3-store.js";
import { openRegistry, Stores } from "../storage/stores.js";

export interface QuiltContextOptions {
  /** Root of the local caches (manifests, data blocks); default QUILT_CACHE_DIR or ~/.cache/quilt-ts. */
  cacheDir?: string;
  /** Data blocks (may be on a shared filesystem); default QUILT_CACHE_DATA_DIR or <cacheDir>/data. */
  dataDir?: string;
  /** S3 client settings (endpoint, region, profile, timeouts...); default from the environment. */
  s3?: S3StoreOptions;
  /** Size limit of the data cache in bytes; default QUILT_CACHE_SIZE or 10 GiB. */
  cacheBytes?: number;
  env?: NodeJS.ProcessEnv;
}

export class QuiltContext {
  readonly stores: Stores;
  readonly cacheDir: string;
  /** The block files, shared by content with the daemon and with other nodes naming the same directory. */
  readonly dataDir: string;
  readonly env: NodeJS.ProcessEnv;
  private readonly registries = new Map<string, Registry>();
  private readonly cacheBytes: number;
  /** The cache directory is the default one, which is made private (src/private-dir.ts). */
  private readonly defaultCacheDir: boolean;
  private blocks: Promise<BlockCache> | undefined;

  constructor(opts: QuiltContextOptions = {}) {
    this.env = opts.env ?? process.env;
    this.cacheDir = opts.cacheDir ?? cacheDir(this.env);
    this.dataDir = opts.dataDir ?? cacheDataDir(this.env, this.cacheDir);
    this.defaultCacheDir = opts.cacheDir === undefined && !this.env.QUILT_CACHE_DIR;
    this.cacheBytes = opts.cacheBytes ?? cacheSizeBytes(this.env);
    // QUILT_S3_CONNECT_TIMEOUT / QUILT_S3_IDLE_TIMEOUT, unless the caller set timeouts itself.
    this.stores = new Stores({ ...s3Timeouts(this.env), ...opts.s3 });
  }

  /**
   * The data cache, shared with the daemon by content (same data directory); the library
   * keeps its own LMDB index, since an LMDB index belongs to one process family.
   */
  blockCache(): Promise<BlockCache> {
    this.blocks ??= makePrivateDir(this.cacheDir, { tighten: this.defaultCacheDir }).then(() =>
      BlockCache.open({
        dataDir: this.dataDir,
        indexDir: join(this.cacheDir, "index", "library"),
        maxBytes: this.cacheBytes,
        ...(!cacheClaims(this.env) && { claims: false }),
      }),
    );
    return this.blocks;
  }

  /** --registry, else QUILT_REGISTRY, else quilt3's local registry. */
  registryUrl(explicit?: string): RegistryUrl {
    return explicit === undefined ? resolveRegistry(undefined, this.env) : parseRegistryUrl(explicit);
  }

  registry(url: RegistryUrl): Registry {
    let r = this.registries.get(url.url);
    if (!r) {
      r = openRegistry(url, this.stores, { manifestCacheDir: join(this.cacheDir, "manifests") });
      this.registries.set(url.url, r);
    }
    return r;
  }

  /** `allowPath`: accept a quilt+ URI's `&path=` (the caller honours it); refused otherwise. */
  parseSpec(spec: string, registry?: string, allowPath = false): PackageSpec {
    return parsePackageSpec(spec, { registry, env: this.env, allowPath });
  }

  async close(): Promise<void> {
    const blocks = this.blocks;
    this.blocks = undefined;
    await (await blocks)?.close();
    await this.stores.close();
    this.registries.clear();
  }
}

let defaultContext: QuiltContext | undefined;

export function getDefaultContext(): QuiltContext {
  defaultContext ??= new QuiltContext();
  return defaultContext;
}

/** Replaces the process-wide context (e.g. to point at a custom S3 endpoint). */
export function configure(opts: QuiltContextOptions): QuiltContext {
  defaultContext = new QuiltContext(opts);
  return defaultContext;
}
