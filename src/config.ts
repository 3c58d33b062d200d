// Per-user default locations, overridable by environment so that tests and several users
// never collide: QUILT_CACHE_DIR (manifests and data blocks) and QUILT_STATE_DIR (daemon
// socket, pid, logs, mounts); also the cache size and the S3 timeouts, checked here so a bad
// value is refused with its name before anything starts.
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { QuiltError } from "./errors.js";

function xdg(envName: string, fallback: string[], env: NodeJS.ProcessEnv): string {
  const v = env[envName];
  return v && isAbsolute(v) ? v : join(env.HOME || homedir(), ...fallback);
}

export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.QUILT_CACHE_DIR || join(xdg("XDG_CACHE_HOME", [".cache"], env), "quilt-ts");
}

/**
 * Where the data blocks live: QUILT_CACHE_DATA_DIR (e.g. a filesystem shared by the GPU nodes
 * of a cluster), else `data` under the cache directory. The one rule for the daemon, the
 * library (getBytes, install, Package.cache) and the CLI (`cache prefetch`, `cache clear`), so
 * that what one of them fetched is found by the others.
 */
export function cacheDataDir(
  env: NodeJS.ProcessEnv = process.env,
  cacheRoot: string = cacheDir(env),
): string {
  const v = env.QUILT_CACHE_DATA_DIR;
  return v ? resolve(v) : join(cacheRoot, "data");
}

/**
 * QUILT_CACHE_CLAIMS=0 turns off the claims that let processes sharing a data directory fetch
 * each chunk once (src/cache/fetch-claims.ts): for a filesystem whose exclusive create
 * cannot be trusted, or to measure without them. Anything but 0/1/off/on is refused.
 */
export function cacheClaims(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = (env.QUILT_CACHE_CLAIMS ?? "").trim().toLowerCase();
  if (v === "" || v === "1" || v === "on") return true;
  if (v === "0" || v === "off") return false;
  throw new QuiltError("EUSAGE", `Invalid QUILT_CACHE_CLAIMS=${JSON.stringify(env.QUILT_CACHE_CLAIMS)}`, {
    hint: "use 0 (off) or 1 (on, the default), or unset it",
  });
}

export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.QUILT_STATE_DIR || join(xdg("XDG_STATE_HOME", [".local", "state"], env), "quilt-ts");
}

const UNITS: Record<string, number> = { "": 1, B: 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

/** "10G", "500M", "1.5T", "1048576" (binary units, an optional "iB"/"B" suffix) to bytes. */
export function parseSize(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*$/i.exec(text);
  if (!m) return undefined;
  const bytes = Math.floor(Number(m[1]) * (UNITS[(m[2] ?? "").toUpperCase()] ?? 1));
  return Number.isSafeInteger(bytes) && bytes > 0 ? bytes : undefined;
}

/** 10 GiB: room for a working set of images or a few large shards, small next to a GPU node's disk. */
export const DEFAULT_CACHE_BYTES = 10 * 2 ** 30;

/** QUILT_CACHE_SIZE, else the default. A value that is not a size is refused, not replaced by the default. */
export function cacheSizeBytes(env: NodeJS.ProcessEnv = process.env): number {
  return sizeFromEnv(env, "QUILT_CACHE_SIZE", "cache size", DEFAULT_CACHE_BYTES, "10G");
}

/**
 * 4 GiB of manifest index: about fifteen versions of a million entries (~270 bytes an entry),
 * or thousands of small ones, beside a data cache of 10 GiB.
 */
export const DEFAULT_INDEX_BYTES = 4 * 2 ** 30;

/**
 * QUILT_INDEX_SIZE, else the default: the size the daemon's manifest index is held to by
 * dropping the least recently used versions no mount uses (storage/manifest-index-eviction.ts).
 */
export function indexSizeBytes(env: NodeJS.ProcessEnv = process.env): number {
  return sizeFromEnv(env, "QUILT_INDEX_SIZE", "manifest index size", DEFAULT_INDEX_BYTES, "4G");
}

/** More parse workers than this is a typo, not a choice: the build's thread keeps up with about 8. */
const MAX_INDEX_THREADS = 64;

/**
 * QUILT_INDEX_THREADS: parse workers for a large manifest's index build
 * (storage/manifest-index-parsers.ts); 0 parses in the build's own thread, which costs less
 * CPU in all on a fully loaded machine. Undefined when unset (one per core but one, 2 to 8).
 * Anything but a whole number from 0 to 64 is refused, not replaced by the default.
 */
export function indexThreads(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const text = env.QUILT_INDEX_THREADS;
  if (text === undefined || text.trim() === "") return undefined;
  const n = /^\s*\d+\s*$/.test(text) ? Number(text) : NaN;
  if (!(n <= MAX_INDEX_THREADS)) {
    throw new QuiltError("EUSAGE", `Invalid QUILT_INDEX_THREADS=${JSON.stringify(text)}`, {
      hint: `give the number of parse workers for a manifest's index build, 0 (parse in the build's own thread) to ${MAX_INDEX_THREADS}, or unset it for the default (one per core but one, 2 to 8)`,
    });
  }
  return n;
}

/**
 * 192 MiB of anonymous memory. The bound is 500 MB of RSS, and ten million-entry
 * versions listed leave ~300 MiB of the index's pages mapped (file-backed, docs/BENCHMARKS.md):
 * the names must go well before the anonymous part reaches 200 MiB. A daemon serving small
 * packages stays below it (nothing is ever forgotten); one serving large ones is above it
 * with or without names, so each of its mounts loses its names once idle (QUIET_CHECKS).
 */
export const DEFAULT_NAMES_MEMORY_BYTES = 192 * 2 ** 20;

/**
 * QUILT_NAMES_MEMORY, else the default: the daemon's anonymous RSS above which it asks the
 * kernel to forget the names of its longest idle mount (daemon/names-upkeep.ts).
 */
export function namesMemoryBytes(env: NodeJS.ProcessEnv = process.env): number {
  return sizeFromEnv(env, "QUILT_NAMES_MEMORY", "daemon memory target", DEFAULT_NAMES_MEMORY_BYTES, "192M");
}

function sizeFromEnv(
  env: NodeJS.ProcessEnv,
  name: string,
  what: string,
  fallback: number,
  fallbackText: string,
): number {
  const text = env[name];
  if (!text) return fallback;
  const bytes = parseSize(text);
  if (bytes === undefined) {
    throw new QuiltError("EUSAGE", `Invalid ${what} ${name}=${JSON.stringify(text)}`, {
      hint: `use a size like 500M, 50G or 1T, or unset it for the default (${fallbackText})`,
    });
  }
  return bytes;
}

/** How long one S3 request may wait for the network, in ms (see s3-client.ts). */
export interface S3Timeouts {
  /** No TCP connection (or TLS handshake) within this long: the attempt fails. */
  connectTimeoutMs: number;
  /** No byte received (or sent) for this long: the attempt fails and is retried on a fresh connection. */
  idleTimeoutMs: number;
}

/** 5 s: a live endpoint accepts a connection within a few hundred ms even across regions. */
export const DEFAULT_S3_CONNECT_TIMEOUT_MS = 5_000;
/**
 * 15 s: S3 starts answering a ranged GET in well under a second and then streams; a socket
 * silent this long is a dead one, and retrying on a fresh connection is faster than waiting.
 */
export const DEFAULT_S3_IDLE_TIMEOUT_MS = 15_000;
/** One hour: anything longer is a typo (milliseconds given as seconds), not a choice. */
const MAX_TIMEOUT_SECONDS = 3600;

/**
 * QUILT_S3_CONNECT_TIMEOUT and QUILT_S3_IDLE_TIMEOUT, in seconds (decimals allowed, as
 * botocore's connect_timeout and read_timeout), else the defaults. A value that is not a
 * positive number of seconds is refused with its name and value, not replaced by the default.
 */
export function s3Timeouts(env: NodeJS.ProcessEnv = process.env): S3Timeouts {
  return {
    connectTimeoutMs: seconds(env, "QUILT_S3_CONNECT_TIMEOUT") ?? DEFAULT_S3_CONNECT_TIMEOUT_MS,
    idleTimeoutMs: seconds(env, "QUILT_S3_IDLE_TIMEOUT") ?? DEFAULT_S3_IDLE_TIMEOUT_MS,
  };
}

function seconds(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const text = env[name];
  if (text === undefined || text === "") return undefined;
  const value = /^\s*\d+(\.\d+)?\s*$/.test(text) ? Number(text) : NaN;
  if (!(value > 0 && value <= MAX_TIMEOUT_SECONDS)) {
    throw new QuiltError("EUSAGE", `Invalid timeout ${name}=${JSON.stringify(text)}`, {
      hint: `give a number of seconds between 0.001 and ${MAX_TIMEOUT_SECONDS}, e.g. ${name}=10, or unset it for the default`,
    });
  }
  return Math.max(1, Math.round(value * 1000));
}
