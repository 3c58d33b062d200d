// `mount.quilt SPEC DIR [-sfnv] [-o OPTIONS] [-t fuse.quilt]`: the mount(8) helper, so a
// package version can be an fstab line and come back at boot. mount(8) runs a helper with
// this argument convention (as /sbin/mount.fuse.quilt for `-t fuse.quilt`, or through
// mount.fuse for `-t fuse` with the source `/path/to/mount.quilt#SPEC`); this module turns
// it into the `quilt mount` command line and the environment that command reads. Options
// are fstab's comma-separated list: ours (registry=, cache_size=, ...), FUSE's allow_other
// and nonempty, and the generic ones mount(8) adds (ro, rw, nosuid, _netdev, x-systemd.*),
// which change nothing here: the mount is always read-only, nosuid and nodev.
import { isQuiltError, QuiltError } from "../errors.js";
import { untrusted } from "../untrusted-text.js";
import { processIo, type Io } from "./context.js";
import { exitCodeFor } from "./exit-codes.js";
import { main } from "./main.js";

export interface MountHelperCall {
  /** The `quilt` command line: ["mount", SPEC, DIR, ...options]. */
  argv: string[];
  /** Variables to set for it (state directory, S3 endpoint, region, profile). */
  env: Record<string, string>;
  /** -f: mount(8)'s "fake" run: check the line, mount nothing. */
  fake: boolean;
}

/** Options that take a value, and the `quilt mount` option or variable each becomes. */
const VALUE_OPTIONS: Record<string, { flag: string } | { env: string }> = {
  registry: { flag: "--registry" },
  cache_dir: { flag: "--cache-dir" },
  cache_size: { flag: "--cache-size" },
  verify: { flag: "--verify" },
  state_dir: { env: "QUILT_STATE_DIR" },
  cache_home: { env: "QUILT_CACHE_DIR" },
  endpoint: { env: "AWS_ENDPOINT_URL" },
  region: { env: "AWS_REGION" },
  profile: { env: "AWS_PROFILE" },
};

const FLAG_OPTIONS: Record<string, string> = { allow_other: "--allow-other", nonempty: "--nonempty" };

/**
 * What mount(8), mount.fuse and systemd add to every line, or what a quilt mount always is
 * (read-only, nosuid, nodev, default_permissions): accepted and ignored. `rw` is among them
 * because fstab's `defaults` reaches helpers as `rw,dev,suid`.
 */
const IGNORED = new Set([
  "defaults",
  "ro",
  "rw",
  "auto",
  "noauto",
  "user",
  "users",
  "nouser",
  "owner",
  "group",
  "nofail",
  "_netdev",
  "dev",
  "nodev",
  "suid",
  "nosuid",
  "exec",
  "noexec",
  "atime",
  "noatime",
  "relatime",
  "strictatime",
  "nodiratime",
  "diratime",
  "lazytime",
  "async",
  "sync",
  "default_permissions",
]);
const IGNORED_PREFIXES = ["x-", "comment="];

export const MOUNT_HELPER_USAGE =
  "mount.quilt SPEC DIR [-sfnv] [-o registry=URL,cache_size=SIZE,cache_dir=DIR,state_dir=DIR,cache_home=DIR,verify=strict,endpoint=URL,region=R,profile=P,allow_other,nonempty]";

function usage(message: string, hint = `usage: ${MOUNT_HELPER_USAGE}`): QuiltError {
  return new QuiltError("EUSAGE", message, { hint });
}

/** Parses mount(8)'s helper arguments (argv without the program name). */
export function parseMountHelperArgs(args: string[]): MountHelperCall {
  const positional: string[] = [];
  const options: string[] = [];
  let sloppy = false;
  let fake = false;
  // One iterator for the loop and for the value an option takes from the next argument.
  const rest = args[Symbol.iterator]();
  for (const a of rest) {
    if (a === "-o" || a === "-t" || a === "-N") {
      const value: string | undefined = rest.next().value;
      if (value === undefined) throw usage(`${a} needs a value`);
      if (a === "-o") options.push(...value.split(",").filter((o) => o !== ""));
      else if (a === "-N")
        throw usage(
          "mount.quilt cannot mount into another mount namespace (-N)",
          "run mount inside that namespace instead",
        );
      else if (value !== "fuse.quilt" && value !== "fuse")
        throw usage(`mount.quilt mounts type fuse.quilt, not ${untrusted(value, 100)}`);
    } else if (/^-[sfnvwr]+$/.test(a)) {
      if (a.includes("s")) sloppy = true;
      if (a.includes("f")) fake = true;
      if (a.includes("w"))
        throw usage("a quilt mount is read-only (-w)", "leave out -w / rw: package versions are immutable");
    } else if (a.startsWith("-")) {
      throw usage(`Unknown argument ${untrusted(a, 100)}`);
    } else positional.push(a);
  }
  const [spec, dir] = positional;
  if (positional.length !== 2 || spec === undefined || dir === undefined)
    throw usage(
      `mount.quilt takes a package SPEC and a mount point DIR, got ${positional.length} argument(s)`,
    );
  const argv = ["mount", spec, dir];
  const env: Record<string, string> = {};
  for (const opt of options) {
    const eq = opt.indexOf("=");
    const key = eq < 0 ? opt : opt.slice(0, eq);
    const value = eq < 0 ? undefined : opt.slice(eq + 1);
    const target = VALUE_OPTIONS[key];
    if (target !== undefined) {
      if (value === undefined || value === "") throw usage(`Mount option ${key} needs a value (${key}=...)`);
      if ("flag" in target) argv.push(target.flag, value);
      else env[target.env] = value;
    } else if (FLAG_OPTIONS[key] !== undefined && value === undefined) {
      argv.push(FLAG_OPTIONS[key]);
    } else if (IGNORED.has(key) || IGNORED_PREFIXES.some((p) => opt.startsWith(p))) {
      // mount(8)'s, systemd's, or what the mount always is.
    } else if (!sloppy) {
      throw usage(
        `Unknown mount option ${untrusted(opt, 100)}`,
        `quilt's options: ${[...Object.keys(VALUE_OPTIONS).map((k) => `${k}=`), ...Object.keys(FLAG_OPTIONS)].join(", ")} (mount -s ignores unknown options)`,
      );
    }
  }
  return { argv, env, fake };
}

/**
 * Runs the helper: `quilt mount` with the options and variables the line gave. Its exit
 * status is mount(8)'s (0: mounted and serving; otherwise quilt's statuses, README).
 */
export async function runMountHelper(args: string[], io: Io = processIo): Promise<number> {
  let call: MountHelperCall;
  try {
    call = parseMountHelperArgs(args);
  } catch (err) {
    if (!isQuiltError(err)) throw err;
    io.err(`Error: ${err.message}\n${err.hint ? `hint: ${err.hint}\n` : ""}`);
    return exitCodeFor(err.code);
  }
  if (call.fake) {
    io.out(
      `Would run: quilt ${call.argv.join(" ")}${
        Object.keys(call.env).length > 0
          ? ` with ${Object.entries(call.env)
              .map(([k, v]) => `${k}=${v}`)
              .join(" ")}`
          : ""
      }\n`,
    );
    return 0;
  }
  // The command reads its environment (registry, S3 context, state directory) from process.env.
  Object.assign(process.env, call.env);
  return main(call.argv, io, process.env);
}
