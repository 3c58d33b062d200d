// Per-user default locations, overridable by environment so that tests and several users
// never collide: QUILT_CACHE_DIR (manifests and data blocks) and QUILT_STATE_DIR (daemon
// socket, pid, logs, mounts).
import { homedir } from "node:os";
import { isAbsolute, join } from "node:path";
import { QuiltError } from "./errors.js";

function xdg(envName: string, fallback: string[], env: NodeJS.ProcessEnv): string {
  const v = env[envName];
  return v && isAbsolute(v) ? v : join(env.HOME || homedir(), ...fallback);
}

export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.QUILT_CACHE_DIR || join(xdg("XDG_CACHE_HOME", [".cache"], env), "quilt-ts");
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
  if (!env.QUILT_CACHE_SIZE) return DEFAULT_CACHE_BYTES;
  const bytes = parseSize(env.QUILT_CACHE_SIZE);
  if (bytes === undefined) {
    throw new QuiltError("EUSAGE", `Invalid cache size QUILT_CACHE_SIZE=${JSON.stringify(env.QUILT_CACHE_SIZE)}`, { hint: "use a size like 500M, 50G or 1T, or unset it for the default (10G)" });
  }
  return bytes;
}
