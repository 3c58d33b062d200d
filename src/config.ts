// Per-user default locations, overridable by environment so that tests and several users
// never collide: QUILT_CACHE_DIR (manifests and data blocks) and QUILT_STATE_DIR (daemon
// socket, pid, logs, mounts).
import { homedir } from "node:os";
import { isAbsolute, join } from "node:path";

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
