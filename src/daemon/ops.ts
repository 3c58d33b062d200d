// The daemon's operations, one map from name to the params a request carries, the reply it
// gets and the progress events it may send first. The client (client.ts) and the server
// (socket-server.ts, handlers.ts) are both typed by it, so a call site cannot send or read
// the wrong shape; the params are checked once, where a request enters the daemon, by the
// schema below (a client of another build, or anything else on the socket, is not trusted).
// The names and fields are the wire format: renaming one breaks a CLI of this version.
import type { CacheStats } from "../cache/cache-stats.js";
import type { RequestCounts } from "../storage/counting-store.js";
import type { ForceMatchReply, MountCheck } from "./mount-integrity.js";
import type { MountInfoReply } from "./package-mount.js";
import {
  boolean,
  noParams,
  object,
  oneOf,
  optional,
  refuse,
  shown,
  string,
  type Field,
  type NoParams,
  type ParamsCheck,
} from "./param-schema.js";
import { parseS3Context, type S3Context } from "./s3-context.js";

export const VERIFY_MODES = ["default", "strict"] as const;

export interface MountParams {
  /** As the user wrote it: ns/name[:tag][@hash], or a URL spec of the same registry. */
  spec: string;
  /** Absolute: resolved in the caller's directory. */
  mountpoint: string;
  /** Resolved by the CLI in the caller's shell (s3://bucket or file:///dir), never by the daemon. */
  registry: string;
  s3?: S3Context;
  /** credentialsFingerprint() of the caller's environment. */
  credentials?: string;
  verify?: (typeof VERIFY_MODES)[number];
  allowOther?: boolean;
  nonEmpty?: boolean;
}

export interface SwitchParams {
  mountpoint: string;
  /** A tag, @hash or whole spec of the mount's registry; or `previous`, not both. */
  spec?: string;
  previous?: boolean;
  credentials?: string;
}

/** verify and force-match: the mount, and whether to leave objects that are not cached unchecked. */
export interface CheckParams {
  mountpoint: string;
  cachedOnly?: boolean;
}

export interface PingReply {
  pid: number;
  startedAt: string;
  mounts: number;
  /** False while a starting daemon is still remounting what the previous one held. */
  ready?: boolean;
}

/** A mount as `quilt mounts` and `quilt status` show it: with the S3 context it reads through. */
export type MountDescription = MountInfoReply & { s3: S3Context | null };

/** Lists of keys in a reply stop at MAX_REPORTED_KEYS (handlers.ts); `<list>Omitted` counts the rest. */
export type VerifyReply = MountCheck & { failedOmitted: number; unverifiedOmitted: number };
export type ForceMatchWireReply = ForceMatchReply & {
  failedOmitted: number;
  repairedOmitted: number;
  unrepairedOmitted: number;
};

/** The daemon's manifest index: versions indexed, bytes of pages holding them, its file's size, its limit. */
export interface IndexStats {
  versions: number;
  usedBytes: number;
  fileBytes: number;
  maxBytes: number;
  /** Absent from daemons older than it. */
  leftovers?: IndexLeftovers;
}

/** Records of versions without a header: a build under way, or a drop or build cut short, not trusted. */
export interface IndexLeftovers {
  versions: number;
  records: number;
  /** Versions whose records this daemon is removing now or has queued for removal. */
  removing: number;
}

export interface StatsReply {
  pid: number;
  startedAt: string;
  mounts: number;
  cache: CacheStats;
  /** Absent from daemons older than the index's limit. */
  index?: IndexStats;
  /** The daemon's memory as Node sees it (process.memoryUsage(), bytes): heap against what /proc calls RSS. */
  memory?: NodeJS.MemoryUsage;
  /** The memory bound for the kernel's names (names-upkeep.ts); absent from daemons older than it. */
  names?: NamesStats;
  requests: { s3: RequestCounts; local: RequestCounts };
}

/** The daemon's memory bound for the names the kernel holds (QUILT_NAMES_MEMORY). */
export interface NamesStats {
  /** Anonymous RSS above which idle mounts' names are forgotten, bytes. */
  targetBytes: number;
  /** The daemon's anonymous RSS now (RssAnon), bytes; null where /proc does not say. */
  anonBytes: number | null;
  /** Times it asked the kernel to forget a mount's names since the daemon started. */
  forgettings: number;
}

/** Objects checked so far, of how many. */
export interface CheckProgress {
  done: number;
  total: number;
}

export interface Ops {
  ping: { params: NoParams; reply: PingReply; progress: never };
  mount: { params: MountParams; reply: MountDescription & { alreadyMounted?: true }; progress: never };
  unmount: {
    params: { mountpoint: string; force?: boolean };
    reply: { mountpoint: string };
    progress: never;
  };
  /** Moves a mount to another version in place (`quilt switch`). */
  switch: {
    params: SwitchParams;
    reply: MountDescription & { unchanged: boolean; stillOpen: number };
    progress: never;
  };
  list: { params: NoParams; reply: MountDescription[]; progress: never };
  status: { params: { mountpoint: string }; reply: MountDescription; progress: never };
  verify: { params: CheckParams; reply: VerifyReply; progress: CheckProgress };
  "force-match": { params: CheckParams; reply: ForceMatchWireReply; progress: CheckProgress };
  stats: { params: NoParams; reply: StatsReply; progress: never };
  /** `all`: every block of the (possibly shared) data directory, not only this daemon's. */
  "cache-clear": {
    params: { all?: boolean };
    /** index: versions dropped from the manifest index (null while a mount or switch was under way; absent from older daemons). */
    reply: { cleared: true; index?: { dropped: number; usedBytes: number; fileBytes: number } | null };
    progress: never;
  };
  shutdown: { params: NoParams; reply: { stopping: true }; progress: never };
}

export type Operation = keyof Ops;
export type Params<K extends Operation> = Ops[K]["params"];
export type OpReply<K extends Operation> = Ops[K]["reply"];
export type OpProgress<K extends Operation> = Ops[K]["progress"];

/**
 * The "mountpoint" of a request: an absolute path string. The CLI resolves it in the
 * caller's directory; a relative one would resolve in the daemon's, and anything else
 * (a number, an object) is a malformed request, not an internal error.
 */
const mountpoint: Field<string> = (value, { op }) => {
  if (typeof value !== "string" || !value.startsWith("/"))
    throw refuse(`A ${op} request needs an absolute "mountpoint", got ${shown(value)}`);
  return value;
};

const credentials = optional(string(() => '"credentials" must be a fingerprint string'));

const RESOLVED_REGISTRY = /^(s3|file):\/\//;

const registry: Field<string> = (value) => {
  if (typeof value !== "string" || !RESOLVED_REGISTRY.test(value))
    throw refuse(
      `A mount request needs a resolved "registry" (s3://bucket or file:///dir), got ${JSON.stringify(value)}`,
      "the daemon does not choose a registry from its own environment; use `quilt mount` of the same version as the daemon",
    );
  return value;
};

const mountCheck = object<CheckParams>({ mountpoint, cachedOnly: optional(boolean) });

/** Each operation's params check; its keys are the operations this daemon knows. */
const OP_PARAMS: { [K in Operation]: ParamsCheck<Params<K>> } = {
  ping: noParams,
  mount: object<MountParams>({
    spec: string(() => 'A mount request needs a "spec" (ns/name[:tag][@hash])'),
    mountpoint,
    registry,
    s3: optional(parseS3Context),
    credentials,
    verify: optional(oneOf(VERIFY_MODES, "verify mode")),
    allowOther: optional(boolean),
    nonEmpty: optional(boolean),
  }),
  unmount: object({ mountpoint, force: optional(boolean) }),
  switch: object<SwitchParams>({
    mountpoint,
    spec: optional(string(() => 'A switch request\'s "spec" must be a string')),
    previous: optional(boolean),
    credentials,
  }),
  list: noParams,
  status: object({ mountpoint }),
  verify: mountCheck,
  "force-match": mountCheck,
  stats: noParams,
  "cache-clear": object({ all: optional(boolean) }),
  shutdown: noParams,
};

export const OPERATIONS = Object.keys(OP_PARAMS) as Operation[];

export function isOperation(op: unknown): op is Operation {
  return typeof op === "string" && Object.hasOwn(OP_PARAMS, op);
}

/** A request's params in their declared shape, or a usage error (QuiltError EUSAGE) saying which field is wrong. */
export function checkParams<K extends Operation>(op: K, params: Record<string, unknown>): Params<K> {
  return OP_PARAMS[op](params, op);
}
