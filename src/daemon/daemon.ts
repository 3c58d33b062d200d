// The long-running daemon: one block cache shared by every mount, one set of S3
// connections per S3 context (endpoint, region, profile) that mounts were requested with,
// a socket for the CLI, and the list of mounts kept on disk so a restart after a crash
// clears stale mounts and mounts them again, each with its own registry and context.
// Shutdown is ordered and idempotent: stop accepting requests, unmount everything, close
// the cache (flushing the index).
import type { BlockCache } from "../cache/block-cache.js";
import { QuiltError, isQuiltError } from "../errors.js";
import { canonicalMountPath, clearStaleMount, mountAt, mountState } from "../fs/mount-table.js";
import { log } from "../log.js";
import { Session } from "../session.js";
import { dirname } from "node:path";
import { makePrivateDir } from "../private-dir.js";
import { PackageMount } from "./package-mount.js";
import { ManifestIndex } from "../storage/manifest-index.js";
import type { BuildOptions } from "../storage/manifest-index-build.js";
import { indexSizeBytes, indexThreads, namesMemoryBytes } from "../config.js";
import { IndexUpkeep } from "./index-upkeep.js";
import { NamesUpkeep, NAMES_CHECK_MS } from "./names-upkeep.js";
import type { IndexedVersion } from "./indexed-version.js";
import { readMountRecords, writeMountRecords, type MountRecord } from "./mount-records.js";
import { switchMount, type SwitchRequest } from "./mount-switch.js";
import { KeyedQueue } from "./keyed-queue.js";
import { mountRecordFor, type MountRequest } from "./mount-request.js";
import { checkSameMount } from "./mount-conflict.js";
import { MountVersions } from "./mount-versions.js";
import { daemonHandlers } from "./handlers.js";
import { checkCredentials, credentialsFingerprint } from "./s3-context.js";
import { daemonSessionOptions, type DaemonPaths } from "./paths.js";
import { SocketServer } from "./socket-server.js";
import { sweepLeftovers } from "./leftover-sweeps.js";

export interface DaemonOptions {
  paths: DaemonPaths;
  /**
   * The environment the daemon was started with: its cache settings, its own credentials
   * (compared with each caller's), and the S3 context of mount records older than contexts.
   */
  env?: NodeJS.ProcessEnv;
  cacheBytes?: number;
  /** Runs once this daemon holds the socket (before remounting): where to write the pid file. */
  onListening?: () => Promise<void>;
}

export class Daemon {
  private readonly mounts = new Map<string, PackageMount>();
  /** One switch or unmount at a time per mount point. */
  private readonly exclusive = new KeyedQueue();
  private server: SocketServer | undefined;
  private closing: Promise<void> | undefined;
  private restoring: Promise<void> = Promise.resolve();
  private ready = false;
  readonly startedAt = new Date();
  /** Resolves when the daemon has shut down (by request or signal). */
  readonly stopped: Promise<void>;
  private resolveStopped!: () => void;
  private readonly versions: MountVersions;
  /** Holds the manifest index to QUILT_INDEX_SIZE, keeping what mounts use. */
  readonly indexUpkeep: IndexUpkeep;
  /** Holds the names the kernel keeps (libfuse's node each) to QUILT_NAMES_MEMORY of anonymous memory. */
  readonly namesUpkeep: NamesUpkeep;

  private constructor(
    readonly paths: DaemonPaths,
    /** The daemon's cache settings and one Stores (connection pool, credentials) per S3 context of its mounts. */
    private readonly session: Session,
    readonly cache: BlockCache,
    /** The manifests of mounted versions, indexed once: remounts and restarts read no JSONL. */
    readonly manifests: ManifestIndex,
    private readonly env: NodeJS.ProcessEnv,
    indexBytes: number,
    /** How a version's index build parses (QUILT_INDEX_THREADS). */
    build: BuildOptions,
    namesBytes: number,
  ) {
    this.stopped = new Promise((r) => (this.resolveStopped = r));
    this.namesUpkeep = new NamesUpkeep(namesBytes, () => this.mounts.values());
    this.versions = new MountVersions(session, manifests, env, build);
    this.indexUpkeep = new IndexUpkeep(manifests, indexBytes, () => this.mounts.values());
  }

  static async start(opts: DaemonOptions): Promise<Daemon> {
    const env = opts.env ?? process.env;
    const indexBytes = indexSizeBytes(env);
    const threads = indexThreads(env);
    const namesBytes = namesMemoryBytes(env);
    // Its cache settings and S3 timeouts from its environment (a bad value stops the start
    // here, not the first mount); its block cache's index in its state directory.
    const session = new Session({
      ...daemonSessionOptions(opts.paths, env),
      ...(opts.cacheBytes !== undefined && { cacheBytes: opts.cacheBytes }),
    });
    // Default locations are made private (tightened if an older version left them 0755);
    // directories the user named keep the mode they have (the cache directory: see Session).
    await makePrivateDir(dirname(opts.paths.dir), { tighten: !env.QUILT_STATE_DIR });
    const cache = await session.blockCache();
    const d = new Daemon(
      opts.paths,
      session,
      cache,
      ManifestIndex.open(opts.paths.manifests),
      env,
      indexBytes,
      threads === undefined ? {} : { threads },
      namesBytes,
    );
    d.server = new SocketServer(opts.paths.socket, daemonHandlers(d));
    try {
      await d.server.open();
    } catch (err) {
      // Another daemon holds the socket: this one never served anything.
      await d.manifests.close();
      await session.close();
      throw err;
    }
    sweepLeftovers(cache, session.manifestCacheDir);
    await opts.onListening?.();
    // The socket answers during the restore (so a second `quilt mount` finds this daemon
    // instead of starting another), but says it is not ready: `quilt daemon start` returns
    // only once the mounts of the previous daemon are back, and requests that change or
    // list mounts wait for the restore.
    // Versions with no record of use are given one; what a killed daemon left half-written goes.
    d.indexUpkeep.start();
    d.restoring = d.indexUpkeep.busy(() => d.restore()).finally(() => (d.ready = true));
    await d.restoring;
    // Test-only: a test cannot wait for checks every few seconds.
    d.namesUpkeep.start(Number(env.QUILT_TEST_NAMES_CHECK_MS) || NAMES_CHECK_MS);
    log().info({ socket: opts.paths.socket, pid: process.pid }, "daemon started");
    return d;
  }

  /** Mounts again what the previous daemon held (after kill -9 its mounts are stale). */
  private async restore(): Promise<void> {
    const records = await readMountRecords(this.paths.mounts);
    for (const r of records) {
      try {
        await clearStaleMount(r.mountpoint);
        await this.mountRecord(r);
        log().info({ mountpoint: r.mountpoint }, "remounted after restart");
      } catch (err) {
        log().error({ err, mountpoint: r.mountpoint }, "could not remount; dropping it");
      }
    }
    await this.saveRecords();
  }

  private async saveRecords(): Promise<void> {
    await writeMountRecords(
      this.paths.mounts,
      [...this.mounts.values()].map((m) => m.record),
    );
  }

  /** Request counts over every S3 context. */
  requestCounts() {
    return this.session.requestCounts();
  }

  /** Mounts a record with its own S3 context; `check` may refuse the version before anything is mounted. */
  private async mountRecord(
    r: MountRecord,
    check?: (version: IndexedVersion) => void,
  ): Promise<PackageMount> {
    const { version, record, time, manifestBytes } = await this.versions.load(r, check);
    const m = new PackageMount(record, version, this.cache, this.versions.recordStores(record).stores);
    m.manifestBytes = manifestBytes;
    await m.mount(time);
    this.mounts.set(r.mountpoint, m);
    return m;
  }

  /**
   * A mount unmounted behind the daemon's back (`umount DIR` by a user, or by systemd for an
   * fstab line at shutdown) is forgotten: otherwise `quilt mounts` would list it, the next
   * `mount DIR` would answer "already mounted" with nothing there, and a restarted daemon
   * would mount it again.
   */
  private async forgetIfUnmounted(mountpoint: string): Promise<void> {
    const m = this.mounts.get(mountpoint);
    if (!m || (await mountAt(mountpoint)) !== undefined) return;
    log().info({ mountpoint }, "unmounted outside quilt; forgetting it");
    this.mounts.delete(mountpoint);
    await m
      .unmount(true)
      .catch((err: unknown) =>
        log().warn({ err, mountpoint }, "releasing a mount unmounted outside quilt failed"),
      );
    await this.saveRecords();
    this.indexUpkeep.released(m);
  }

  private mountAt(path: string): PackageMount {
    const m = this.mounts.get(path);
    if (!m)
      throw new QuiltError("ENOTFOUND", `${path} is not a quilt mount`, {
        hint: "list mounts with `quilt mounts`",
      });
    return m;
  }

  /** The mount at a path (canonicalised first), or ENOTFOUND. */
  async find(mountpoint: string): Promise<PackageMount> {
    return this.mountAt(await canonicalMountPath(mountpoint));
  }

  get mountCount(): number {
    return this.mounts.size;
  }

  /** False while a starting daemon is still remounting what the previous one held. */
  get isReady(): boolean {
    return this.ready;
  }

  async mount(req: MountRequest): Promise<{ mount: PackageMount; alreadyMounted: boolean }> {
    await this.restoring;
    const { spec } = req;
    const mountpoint = await canonicalMountPath(req.mountpoint);
    await this.forgetIfUnmounted(mountpoint);
    const existing = this.mounts.get(mountpoint);
    if (!existing && (await mountState(mountpoint)) === "live") {
      throw new QuiltError("EBUSY", `${mountpoint} is already mounted`, {
        hint: `unmount it first: quilt unmount ${mountpoint}`,
      });
    }
    // S3 requests would be signed with the daemon's credentials: refuse before the first
    // one when they are not the caller's (a local registry's manifest is checked once read).
    const credentials = () => checkCredentials(req.s3, req.credentials, credentialsFingerprint(this.env));
    if (spec.registry.kind === "s3") credentials();
    const registry = this.versions.registry(spec.registry.url, this.versions.storesFor(req.s3));
    const resolved = await registry.resolve(spec.name, {
      ...(spec.tag !== undefined && { tag: spec.tag }),
      ...(spec.hash !== undefined && { hash: spec.hash }),
    });
    if (existing) {
      checkSameMount(existing.record, req, resolved.topHash);
      return { mount: existing, alreadyMounted: true };
    }
    const record = mountRecordFor(req, mountpoint, resolved.topHash);
    return this.indexUpkeep.busy(async () => {
      const m = await this.mountRecord(record, (version) => {
        if (spec.registry.kind !== "s3" && version.readsS3) credentials();
      });
      await this.saveRecords();
      return { mount: m, alreadyMounted: false };
    });
  }

  /** Returns the canonical mount point it unmounted. */
  async unmount(path: string, force: boolean): Promise<string> {
    await this.restoring;
    const mountpoint = await canonicalMountPath(path);
    return this.exclusive.run(mountpoint, async () => {
      const m = this.mountAt(mountpoint);
      await m.unmount(force);
      this.mounts.delete(mountpoint);
      await this.saveRecords();
      this.indexUpkeep.released(m);
      return mountpoint;
    });
  }

  async switch(req: SwitchRequest): Promise<{ mount: PackageMount; unchanged: boolean; stillOpen: number }> {
    await this.restoring;
    const mountpoint = await canonicalMountPath(req.mountpoint);
    return this.exclusive.run(mountpoint, async () => {
      const m = this.mountAt(mountpoint);
      const done = await this.indexUpkeep.busy(() => switchMount(m, req, this.versions.loader()));
      if (!done.unchanged) await this.saveRecords();
      return { mount: m, ...done };
    });
  }

  /** The mounts, less those unmounted outside quilt. */
  async list(): Promise<PackageMount[]> {
    await this.restoring;
    for (const mountpoint of [...this.mounts.keys()]) await this.forgetIfUnmounted(mountpoint);
    return [...this.mounts.values()];
  }

  /** Unmounts everything, closes the socket and the cache. Idempotent. */
  close(opts: { keepRecords?: boolean } = {}): Promise<void> {
    this.closing ??= (async () => {
      const upkeep = this.indexUpkeep.stop();
      this.namesUpkeep.stop();
      await this.server?.close();
      for (const m of this.mounts.values()) {
        await m.unmount(true).catch((err: unknown) => {
          if (!isQuiltError(err)) log().error({ err, mountpoint: m.record.mountpoint }, "unmount failed");
        });
      }
      this.mounts.clear();
      if (!opts.keepRecords) await writeMountRecords(this.paths.mounts, []);
      await this.session.close(); // the cache and every S3 context's connections
      await upkeep; // a removal of records under way stops at its next batch
      await this.manifests.close();
      log().info("daemon stopped");
      this.resolveStopped();
    })();
    return this.closing;
  }
}
