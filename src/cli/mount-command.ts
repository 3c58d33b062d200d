// `quilt mount NAME DIR`: mounts a package version read-only; files are fetched lazily,
// only the bytes that are read, into the shared cache. Starts the daemon if needed. The
// registry and the S3 endpoint, region and profile are resolved here, in the user's shell,
// and sent with the request: the daemon may have been started from another shell.
import { DaemonClient } from "../daemon/client.js";
import { ensureDaemon } from "../daemon/lifecycle.js";
import { VERIFY_MODES } from "../daemon/ops.js";
import { credentialsFingerprint, s3ContextFromEnv } from "../daemon/s3-context.js";
import { parsePackageSpec } from "../manifest/package-spec.js";
import { daemonPaths } from "../daemon/paths.js";
import type { MountInfoReply } from "../daemon/package-mount.js";
import type { FaultCounts } from "../storage/fault-counters.js";
import { resolve } from "node:path";
import { defineCommand } from "./command.js";
import { shortHash } from "../manifest/version-label.js";
import { cacheOptions, daemonArgs } from "./daemon-command.js";
import { withRegistry } from "./registry-option.js";
import { formatBytes } from "./progress.js";
import { previousLine, verificationLine } from "./mount-checks.js";
import { pendingLines, pendingMounts } from "./pending-mounts.js";
import { isQuiltError } from "../errors.js";

export const mountCommand = defineCommand({
  session: false,
  builder: (y) =>
    cacheOptions(withRegistry(y))
      .positional("name", {
        type: "string",
        demandOption: true,
        describe: "Package: ns/name[:tag][@hash] or a full URL",
      })
      .positional("dir", { type: "string", demandOption: true, describe: "Empty directory to mount on" })
      .option("allow-other", {
        type: "boolean",
        default: false,
        describe:
          "Let other users read the mount: every user who can reach DIR can then read the whole version (put DIR in a 0750 directory of a group to limit it). A daemon that is not root needs user_allow_other in /etc/fuse.conf",
      })
      .option("nonempty", {
        type: "boolean",
        default: false,
        describe: "Mount over a directory that is not empty, hiding its contents",
      })
      .option("verify", {
        choices: VERIFY_MODES,
        default: "default" as const,
        describe:
          "strict: serve no byte that has not matched its manifest hash; large objects without chunk digests are downloaded and verified whole before their first byte (slower first read, needs cache room for the whole file)",
      })
      .epilog(
        "The registry (--registry, else $QUILT_REGISTRY, else quilt3's local registry) and the S3 endpoint, region and profile " +
          "($AWS_ENDPOINT_URL_S3 / $AWS_ENDPOINT_URL, $AWS_REGION, $AWS_PROFILE) are taken from this shell, whichever shell started the daemon. " +
          "Credentials are not sent: the daemon reads a named profile from ~/.aws itself, and refuses environment credentials (AWS_ACCESS_KEY_ID) other than its own.",
      )
      .example(
        "quilt mount ns/dataset:v1 ./dataset --registry s3://bucket",
        "mount version v1, then read ./dataset like local files",
      )
      .example(
        "quilt mount ns/dataset ./data --cache-dir /efs/quilt-cache",
        "share the data cache with other nodes",
      )
      .example(
        "quilt mount ns/dataset@3f2a9c1e5 /mnt/dataset --allow-other",
        "for a training user other than the daemon's (at boot: deploy/systemd, or fstab through bin/mount.quilt; see README)",
      ),
  async handler(args, ctx) {
    const began = performance.now();
    // Resolved before the daemon starts, so a bad spec or registry starts nothing.
    const spec = parsePackageSpec(args.name, {
      ...(args.registry !== undefined && { registry: args.registry }),
      env: process.env,
    });
    const credentials = credentialsFingerprint(process.env);
    const paths = daemonPaths(process.env, args.cacheDir);
    const { started } = await ensureDaemon(paths, process.env, daemonArgs(args));
    if (started) ctx.say(`Started the quilt daemon (log: ${paths.log})`);
    const info = await new DaemonClient(paths.socket).request("mount", {
      spec: args.name,
      mountpoint: resolve(args.dir),
      registry: spec.registry.url,
      s3: s3ContextFromEnv(process.env),
      ...(credentials !== undefined && { credentials }),
      ...(args.verify === "strict" && { verify: "strict" }),
      allowOther: args.allowOther,
      nonEmpty: args.nonempty,
    });
    const seconds = (performance.now() - began) / 1000;
    ctx.print(mountedLine(info, seconds), { ...info, seconds });
  },
});

/** Mounts slower than this say how long they took and how large the manifest was. */
export const SLOW_MOUNT_SECONDS = 1;

/**
 * "Mounted ns/x:v1 (abc123def) at /mnt: 3 files, 1.2 MiB", plus, for a mount that took
 * longer than a second (a large manifest, a cold daemon), the time until its files could be
 * read and what made it slow: " in 3.2 s (manifest 12.3 MiB, 1,000,000 entries)".
 */
export function mountedLine(info: MountInfoReply & { alreadyMounted?: boolean }, seconds: number): string {
  const what = `${info.package} (${shortHash(info.topHash)}) at ${info.mountpoint}: ${info.entries} files, ${formatBytes(info.totalBytes)}`;
  if (info.alreadyMounted) return `Already mounted: ${what}`;
  if (seconds <= SLOW_MOUNT_SECONDS) return `Mounted ${what}`;
  const entries = `${info.entries.toLocaleString("en-US")} ${info.entries === 1 ? "entry" : "entries"}`;
  const manifest =
    info.manifestBytes !== null
      ? `manifest ${formatBytes(info.manifestBytes)}, ${entries}`
      : `manifest of ${entries}`;
  return `Mounted ${what} in ${seconds.toFixed(1)} s (${manifest})`;
}

export const unmountCommand = defineCommand({
  session: false,
  builder: (y) =>
    y
      .positional("dir", { type: "string", demandOption: true, describe: "The mount point" })
      .option("force", {
        type: "boolean",
        default: false,
        describe: "Detach even if files are open (lazy unmount)",
      })
      .example("quilt unmount ./dataset", ""),
  async handler(args, ctx) {
    const r = await new DaemonClient(daemonPaths().socket).request("unmount", {
      mountpoint: resolve(args.dir),
      force: args.force,
    });
    ctx.print(`Unmounted ${r.mountpoint}`, r);
  },
});

export const mountsCommand = defineCommand({
  session: false,
  builder: (y) =>
    y.example(
      "quilt mounts --json",
      'machine-readable list; `state` is "mounted" or "pending-restore"; per mount: entries, cachedBytes, bytesRead, gets, fetchedBytes, hitRatio, verification, faults, getattrs, readdirs, forgettings (README: Monitoring)',
    ),
  async handler(_args, ctx) {
    const paths = daemonPaths();
    const live = await new DaemonClient(paths.socket).request("list").catch((err: unknown) => {
      // No daemon (or a dead one's socket): nothing is mounted, but a crashed daemon's
      // mounts come back at the next start; they are listed as such. No daemon is started.
      if (isQuiltError(err, "EUNREACHABLE")) return undefined;
      throw err;
    });
    if (live === undefined) {
      const pending = await pendingMounts(paths);
      ctx.print(pending.length === 0 ? ["No packages mounted"] : pendingLines(pending), pending);
      return;
    }
    const lines =
      live.length === 0
        ? ["No packages mounted"]
        : live.flatMap((m) => [
            `${m.mountpoint}  ${m.package}  ${shortHash(m.topHash)}  ${m.registry}  cached ${formatBytes(m.cachedBytes)}/${formatBytes(m.totalBytes)}  read ${formatBytes(m.bytesRead)}`,
            `  ${verificationLine(m)}`,
            ...(m.previous ? [`  ${previousLine(m.mountpoint, m.previous)}`] : []),
            ...(m.faults && m.faults.retries + m.faults.gaveUp > 0 ? [`  ${faultsLine(m.faults)}`] : []),
            ...(m.bytesRead > 0 ? [`  ${readsLine(m)}`] : []),
          ]);
    ctx.print(
      lines,
      live.map((m) => ({ ...m, state: "mounted" })),
    );
  },
});

/** "reads: 12 GETs, 4.0 MiB fetched, hit ratio 67%": how much of what was read came from the cache. */
function readsLine(m: MountInfoReply): string {
  return `reads: ${m.gets} ${m.gets === 1 ? "GET" : "GETs"}, ${formatBytes(m.fetchedBytes)} fetched, hit ratio ${Math.round((m.hitRatio ?? 0) * 100)}%`;
}

/** "storage: 3 retries (2 timeouts, 1 throttled), 0 failed": shown only when there were any. */
function faultsLine(f: FaultCounts): string {
  const causes = (["timeouts", "throttled", "resets", "serverErrors"] as const)
    .filter((k) => f[k] > 0)
    .map((k) => `${f[k]} ${k === "serverErrors" ? "server errors" : k}`);
  return `storage: ${f.retries} ${f.retries === 1 ? "retry" : "retries"}${causes.length > 0 ? ` (${causes.join(", ")})` : ""}, ${f.gaveUp} failed after every attempt`;
}
