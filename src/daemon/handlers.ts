// The daemon's protocol shell: one handler per operation of ops.ts, each turning checked
// params into a call on the daemon and its result into the reply's wire shape. The daemon
// itself (daemon.ts) knows mounts, versions and its lifecycle, not the socket's shapes; this
// file knows the shapes and nothing else (the model: mountpoint-s3's fuse.rs over a
// protocol-free filesystem).
import type { BlockCache } from "../cache/block-cache.js";
import type { IndexUpkeep } from "./index-upkeep.js";
import type { NamesUpkeep } from "./names-upkeep.js";
import { parseMountRequest, type MountRequest } from "./mount-request.js";
import { parseSwitchRequest, type SwitchRequest } from "./mount-switch.js";
import type { ForceMatchWireReply, MountDescription, StatsReply, VerifyReply } from "./ops.js";
import type { ForceMatchReply, MountCheck } from "./mount-integrity.js";
import type { PackageMount } from "./package-mount.js";
import type { Handlers } from "./socket-server.js";

/**
 * At most this many keys per list in a verify or force-match reply: a reply is one socket
 * frame (1 MiB at most), and a dataset whose remote objects were deleted can fail on every
 * one of its million entries. The count of the others travels as `<list>Omitted`.
 */
export const MAX_REPORTED_KEYS = 2000;

function capList<K extends string, T>(list: T[], name: K): Record<K, T[]> & Record<`${K}Omitted`, number> {
  return {
    [name]: list.slice(0, MAX_REPORTED_KEYS),
    [`${name}Omitted`]: Math.max(0, list.length - MAX_REPORTED_KEYS),
  } as Record<K, T[]> & Record<`${K}Omitted`, number>;
}

function verifyReply(r: MountCheck): VerifyReply {
  return { ...r, ...capList(r.failed, "failed"), ...capList(r.unverified, "unverified") };
}

function forceMatchReply(r: ForceMatchReply): ForceMatchWireReply {
  return {
    ...r,
    before: {
      ...r.before,
      failed: r.before.failed.slice(0, MAX_REPORTED_KEYS),
      unverified: r.before.unverified.slice(0, MAX_REPORTED_KEYS),
    },
    ...capList(r.failed, "failed"),
    ...capList(r.repaired, "repaired"),
    ...capList(r.unrepaired, "unrepaired"),
  };
}

/** A mount as `quilt mounts` and `quilt status` show it: with the S3 context it reads through. */
function describe(m: PackageMount): MountDescription {
  return { ...m.info(), s3: m.record.s3 ?? null };
}

/** What the handlers call: the daemon's public side (daemon.ts), free of the protocol's shapes. */
export interface ServedDaemon {
  readonly startedAt: Date;
  readonly cache: BlockCache;
  /** The manifest index's limit and eviction. */
  readonly indexUpkeep: IndexUpkeep;
  /** The memory bound for the kernel's names. */
  readonly namesUpkeep: Pick<NamesUpkeep, "stats">;
  readonly mountCount: number;
  /** False while a starting daemon is still remounting what the previous one held. */
  readonly isReady: boolean;
  requestCounts(): StatsReply["requests"];
  mount(req: MountRequest): Promise<{ mount: PackageMount; alreadyMounted: boolean }>;
  /** The canonical mount point it unmounted. */
  unmount(mountpoint: string, force: boolean): Promise<string>;
  switch(req: SwitchRequest): Promise<{ mount: PackageMount; unchanged: boolean; stillOpen: number }>;
  list(): Promise<PackageMount[]>;
  /** The mount at a path (canonicalised), or ENOTFOUND. */
  find(mountpoint: string): Promise<PackageMount>;
  close(): Promise<void>;
}

export function daemonHandlers(d: ServedDaemon): Handlers {
  return {
    ping: async () => ({
      pid: process.pid,
      startedAt: d.startedAt.toISOString(),
      mounts: d.mountCount,
      ready: d.isReady,
    }),
    mount: async (p) => {
      const { mount, alreadyMounted } = await d.mount(parseMountRequest(p));
      return alreadyMounted ? { ...describe(mount), alreadyMounted: true } : describe(mount);
    },
    unmount: async (p) => ({ mountpoint: await d.unmount(p.mountpoint, p.force ?? false) }),
    switch: async (p) => {
      const { mount, ...done } = await d.switch(parseSwitchRequest(p));
      return { ...describe(mount), ...done };
    },
    list: async () => (await d.list()).map(describe),
    stats: async () => ({
      pid: process.pid,
      startedAt: d.startedAt.toISOString(),
      mounts: d.mountCount,
      cache: d.cache.stats(),
      index: d.indexUpkeep.stats(),
      memory: process.memoryUsage(),
      names: d.namesUpkeep.stats(),
      requests: d.requestCounts(),
    }),
    verify: async (p, ctx) => {
      const m = await d.find(p.mountpoint);
      return verifyReply(
        await m.verify({ cachedOnly: p.cachedOnly ?? false, onProgress: (x) => ctx.progress(x) }),
      );
    },
    "force-match": async (p, ctx) => {
      const m = await d.find(p.mountpoint);
      return forceMatchReply(
        await m.forceMatch({ cachedOnly: p.cachedOnly ?? false, onProgress: (x) => ctx.progress(x) }),
      );
    },
    status: async (p) => describe(await d.find(p.mountpoint)),
    // `quilt cache clear` while this daemon runs: its index must forget the blocks it
    // deletes, or it would believe in files that are gone (and report false failures).
    // Its own blocks only, unless asked for every block of the (possibly shared) data directory.
    // And the manifest index of every version no mount uses (rebuilt from its manifest at its next mount).
    "cache-clear": async (p) => {
      await d.cache.clear({ all: p.all ?? false });
      return { cleared: true, index: await d.indexUpkeep.clear() };
    },
    shutdown: async () => {
      setImmediate(() => void d.close());
      return { stopping: true };
    },
  };
}
