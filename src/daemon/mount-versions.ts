// Where a mount's versions come from: each mount reads through its own S3 context (one
// Stores per context, never the daemon's own: the shell that started the daemon is not the
// caller), and a version is opened from the manifest index, indexed once.
import { log } from "../log.js";
import type { Session } from "../session.js";
import { parseRegistryUrl } from "../manifest/registry-url.js";
import { type ManifestIndex, versionKey } from "../storage/manifest-index.js";
import type { BuildOptions } from "../storage/manifest-index-build.js";
import { manifestKey } from "../storage/registry-layout.js";
import type { Stores } from "../storage/stores.js";
import { type IndexedVersion, openIndexedVersion } from "./indexed-version.js";
import type { MountRecord } from "./mount-records.js";
import type { LoadedVersion, VersionLoader } from "./mount-switch.js";
import {
  checkCredentials,
  credentialsFingerprint,
  s3ContextFromEnv,
  s3ContextKey,
  s3StoreOptions,
  type S3Context,
} from "./s3-context.js";

export class MountVersions {
  constructor(
    private readonly session: Session,
    /** The manifests of mounted versions, indexed once: remounts and restarts read no JSONL. */
    private readonly manifests: ManifestIndex,
    /** The daemon's environment: its credentials, and the S3 context of records older than contexts. */
    private readonly env: NodeJS.ProcessEnv,
    /** How a version's index build parses (QUILT_INDEX_THREADS). */
    private readonly build: BuildOptions = {},
  ) {}

  /** One Stores per S3 context, never the daemon's own (the shell that started it is not the caller). */
  storesFor(context: S3Context): Stores {
    return this.session.storesFor(s3ContextKey(context), s3StoreOptions(context));
  }

  registry(url: string, stores: Stores) {
    return this.session.registryThrough(parseRegistryUrl(url), stores);
  }

  /** The stores and registry a record reads through: its own S3 context. */
  recordStores(r: MountRecord) {
    // Records written before contexts existed: that daemon used its own environment.
    const stores = this.storesFor(r.s3 ?? s3ContextFromEnv(this.env));
    return { stores, registry: this.registry(r.registry, stores) };
  }

  /**
   * A record's version, opened from the manifest index (indexed first, from its manifest
   * verified against its top hash, when it never was), and the version's time; `check` may
   * refuse it.
   */
  async load(r: MountRecord, check?: (version: IndexedVersion) => void): Promise<LoadedVersion> {
    const { registry } = this.recordStores(r);
    const version = await openIndexedVersion(
      this.manifests,
      registry,
      r.name,
      r.topHash as never,
      this.build,
    );
    this.manifests.touch(versionKey(version.id));
    check?.(version);
    // The version's time is when its manifest was written; its size is shown by `quilt mount`.
    // Both are kept in the record once known: a restart then asks the registry nothing (for
    // an S3 registry, not even loading the SDK) and the files keep their mtimes.
    let known =
      r.versionTime !== undefined
        ? { versionTime: r.versionTime, manifestBytes: r.manifestBytes }
        : undefined;
    if (known === undefined) {
      const head = await registry.store
        .head({ bucket: registry.bucket, key: manifestKey("v1", r.name, r.topHash) })
        .catch((err: unknown) =>
          log().warn(
            { err, name: r.name, topHash: r.topHash },
            "could not read the manifest's time; the files show the time of this mount until it is known",
          ),
        );
      if (head?.lastModified)
        known = { versionTime: head.lastModified.toISOString(), manifestBytes: head.size };
    }
    return {
      version,
      record: known ? { ...r, ...known } : r,
      time: known ? new Date(known.versionTime) : new Date(),
      manifestBytes: known?.manifestBytes ?? null,
    };
  }

  /** How a switch resolves and loads versions: through the mount's own registry and S3 context. */
  loader(): VersionLoader {
    return {
      resolve: async (r, spec) =>
        (
          await this.recordStores(r).registry.resolve(spec.name, {
            ...(spec.tag !== undefined && { tag: spec.tag }),
            ...(spec.hash !== undefined && { hash: spec.hash }),
          })
        ).topHash,
      load: (r, check) => this.load(r, check),
      checkCredentials: (r, caller) =>
        r.s3 && checkCredentials(r.s3, caller, credentialsFingerprint(this.env)),
    };
  }
}
