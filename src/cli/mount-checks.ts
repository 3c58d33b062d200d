// `quilt verify`, `quilt force-match` and `quilt status` on a mount point: the daemon that
// serves the mount holds its manifest and the cache, so it does the work (verify re-hashes
// fully cached objects and fetches and verifies the rest, or with --cached-only reports
// them as not verified; force-match evicts what failed and fetches it again) and these functions print its answer in the same style
// the commands use for an installed directory. A mount is recognised from the kernel's
// mount table (a fuse.quilt mount at DIR) and confirmed by the daemon: nothing inside the
// mount is touched. A mount is always checked against the registry and S3 context it was
// mounted with (the daemon keeps them); a --registry naming another registry is refused.
import { resolve } from "node:path";
import { DaemonClient } from "../daemon/client.js";
import { daemonPaths } from "../daemon/paths.js";
import type { CheckProgress } from "../daemon/ops.js";
import type { MountInfoReply } from "../daemon/package-mount.js";
import { isQuiltError, QuiltError } from "../errors.js";
import { mountAt } from "../fs/mount-table.js";
import { parseRegistryUrl } from "../manifest/registry-url.js";
import { shortHash, versionLine } from "../manifest/version-label.js";
import type { CommandContext } from "./context.js";
import { shellQuote } from "./shell-quote.js";
import { EXIT_DIFFERENCE } from "./exit-codes.js";
import { formatBytes } from "./progress.js";

/** Our mounts' type in the mount table (fuse.<subtype>, subtype=quilt). */
const QUILT_FS_TYPE = "fuse.quilt";

export interface DaemonMount {
  client: DaemonClient;
  info: MountInfoReply;
}

/** The daemon's view of the quilt mount at `dir`, or undefined when `dir` is not a quilt mount point. */
export async function daemonMount(dir: string): Promise<DaemonMount | undefined> {
  const m = await mountAt(resolve(dir)).catch(() => undefined);
  if (m?.fsType !== QUILT_FS_TYPE) return undefined;
  const paths = daemonPaths(process.env);
  const client = new DaemonClient(paths.socket);
  try {
    return { client, info: await client.request("status", { mountpoint: m.mountPoint }) };
  } catch (err) {
    if (isQuiltError(err, "EUNREACHABLE")) {
      throw new QuiltError(
        "EUNREACHABLE",
        `${dir} is a quilt mount, but no quilt daemon is running to serve it`,
        {
          hint: `if the daemon was killed, \`quilt daemon start\` mounts it again; or remove it with \`fusermount -uz ${shellQuote(dir)}\``,
        },
      );
    }
    if (isQuiltError(err, "ENOTFOUND")) {
      throw new QuiltError(
        "ENOTFOUND",
        `${dir} is a quilt mount of another daemon (not the one at ${paths.socket})`,
        {
          hint: "run the command with the QUILT_STATE_DIR of the `quilt mount` that made it",
        },
      );
    }
    throw err;
  }
}

function versionJson(info: MountInfoReply): Record<string, unknown> {
  return {
    kind: "mount",
    mountpoint: info.mountpoint,
    registry: info.registry,
    name: info.name,
    tag: info.tag,
    topHash: info.topHash,
  };
}

function keyPath(dir: string, key: string): string {
  return `${dir.replace(/\/+$/, "")}/${key}`;
}

/** The `unsupported` options (by name) make no sense on a mount; refuses them. */
function refuseOptions(dir: string, unsupported: Record<string, unknown>): void {
  for (const [name, value] of Object.entries(unsupported)) {
    if (value === undefined || value === false) continue;
    throw new QuiltError(
      "EUSAGE",
      `--${name} does not apply to a mount (${dir} serves one package version, read-only)`,
      {
        hint: `to serve another version there, switch the mount to it: quilt switch ${shellQuote(dir)} SPEC`,
      },
    );
  }
}

/** --registry on a mount must name the registry it was mounted from, if given at all. */
function checkRegistry(ctx: CommandContext, dir: string, info: MountInfoReply): void {
  const given = ctx.globals.registry;
  if (given === undefined) return;
  const url = parseRegistryUrl(given).url;
  if (url === info.registry) return;
  throw new QuiltError("EUSAGE", `${dir} is mounted from ${info.registry}, not from ${url}`, {
    hint: "leave out --registry: a mount is checked against the registry it was mounted from",
  });
}

/** "... and N more <what>" when the daemon left keys out of a long list. */
function more(omitted: number | undefined, what: string): string[] {
  return omitted ? [`... and ${omitted} more ${what}`] : [];
}

function onProgress(ctx: CommandContext, label: string) {
  const progress = ctx.progress(label);
  return { progress, update: (d: CheckProgress) => progress.update(d) };
}

/** --cached-only given for a directory that is not a mount. */
export function cachedOnlyError(dir: string): QuiltError {
  return new QuiltError("EUSAGE", `--cached-only applies to a quilt mount; ${dir} is not one`, {
    hint: "drop --cached-only to verify an installed directory",
  });
}

export async function verifyMount(
  ctx: CommandContext,
  dir: string,
  mount: DaemonMount,
  opts: { deep: boolean; cachedOnly?: boolean; package?: string },
): Promise<void> {
  refuseOptions(dir, { package: opts.package });
  checkRegistry(ctx, dir, mount.info);
  const { progress, update } = onProgress(ctx, "Verifying");
  const r = await mount.client.request(
    "verify",
    { mountpoint: mount.info.mountpoint, cachedOnly: opts.cachedOnly === true },
    { onProgress: update },
  );
  progress.finish();
  const label = mount.info.package;
  if (!r.ok) ctx.exitCode = EXIT_DIFFERENCE;
  const unverified = r.unverified.length + (r.unverifiedOmitted ?? 0);
  const human = r.ok
    ? [
        `${dir} matches manifest ${label}`,
        r.rehashed === r.checked
          ? `Checked ${r.checked} files, each hashed against the manifest`
          : `Checked ${r.checked} files: ${r.rehashed} hashed against the manifest, ${r.checked - r.rehashed} empty`,
      ]
    : [
        ...r.failed.map((f) => `${keyPath(dir, f.key)} does not match manifest ${label}: ${f.reason}`),
        ...more(r.failedOmitted, "files do not match"),
        ...(unverified > 0
          ? [
              `${unverified} of ${r.checked} files not verified (not cached; --cached-only does not fetch them)`,
              ...r.unverified.slice(0, 10).map((k) => `  ${keyPath(dir, k)}`),
              ...more(unverified - Math.min(10, r.unverified.length), "").map((l) => `  ${l.trim()}`),
            ]
          : []),
        ...(r.failed.length > 0
          ? [`This can be fixed by calling quilt force-match ${shellQuote(dir)}`]
          : [`Verify them by fetching: quilt verify ${shellQuote(dir)}`]),
      ];
  ctx.print(human, {
    dir,
    ...versionJson(mount.info),
    ok: r.ok,
    checked: r.checked,
    rehashed: r.rehashed,
    failed: r.failed,
    failedOmitted: r.failedOmitted ?? 0,
    unverified: r.unverified,
    unverifiedCount: unverified,
  });
}

export async function forceMatchMount(
  ctx: CommandContext,
  dir: string,
  mount: DaemonMount,
  opts: { deep: boolean; cachedOnly?: boolean; package?: string },
): Promise<void> {
  refuseOptions(dir, { package: opts.package });
  checkRegistry(ctx, dir, mount.info);
  const { progress, update } = onProgress(ctx, "Checking");
  const r = await mount.client.request(
    "force-match",
    { mountpoint: mount.info.mountpoint, cachedOnly: opts.cachedOnly === true },
    { onProgress: update },
  );
  progress.finish();
  if (r.unrepaired.length > 0) ctx.exitCode = EXIT_DIFFERENCE;
  const human =
    r.failed.length === 0
      ? [`No changes: ${dir} already matches ${versionLine(mount.info)}`]
      : [
          "Changes:",
          ...r.repaired.map((k) => `  ${keyPath(dir, k)} evicted from the cache and fetched again`),
          ...more(r.repairedOmitted, "files fetched again").map((l) => `  ${l}`),
          ...r.unrepaired.map((u) => `  ${keyPath(dir, u.key)} could not be repaired: ${u.reason}`),
          ...more(r.unrepairedOmitted, "files could not be repaired").map((l) => `  ${l}`),
        ];
  ctx.print(human, {
    dir,
    ...versionJson(mount.info),
    ok: r.unrepaired.length === 0,
    failed: r.failed,
    repaired: r.repaired,
    unrepaired: r.unrepaired,
    omitted: {
      failed: r.failedOmitted ?? 0,
      repaired: r.repairedOmitted ?? 0,
      unrepaired: r.unrepairedOmitted ?? 0,
    },
  });
}

export function mountStatus(ctx: CommandContext, dir: string, mount: DaemonMount): void {
  const i = mount.info;
  ctx.print(
    [
      `Package: ${versionLine(i)} mounted at ${i.mountpoint}`,
      `Registry: ${i.registry}`,
      `Files: ${i.entries}, ${formatBytes(i.totalBytes)}; cached ${formatBytes(i.cachedBytes)}, read ${formatBytes(i.bytesRead)}`,
      verificationLine(i),
      ...(i.previous ? [previousLine(i.mountpoint, i.previous)] : []),
      "Read-only mount: files cannot be changed",
    ],
    {
      dir,
      ...versionJson(i),
      entries: i.entries,
      totalBytes: i.totalBytes,
      cachedBytes: i.cachedBytes,
      bytesRead: i.bytesRead,
      mountedAt: i.mountedAt,
      verify: i.verify,
      verifiedFiles: i.verifiedFiles,
      unverifiedFiles: i.unverifiedFiles,
      failedFiles: i.failedFiles,
      previous: i.previous,
    },
  );
}

/** Where `quilt switch --previous` goes: shown by `quilt mounts` and `quilt status MOUNT` alike. */
export function previousLine(mountpoint: string, previous: { package: string; topHash: string }): string {
  return `previous: ${previous.package} (${shortHash(previous.topHash)}); \`quilt switch ${mountpoint} --previous\` returns to it`;
}

/** How much of a mount is verified: what `quilt mounts` and `quilt status` say about integrity. */
export function verificationLine(i: MountInfoReply): string {
  const parts = [`verify=${i.verify}`, `${i.verifiedFiles} of ${i.entries} files cached and verified`];
  if (i.unverifiedFiles.length > 0)
    parts.push(
      `${i.unverifiedFiles.length} served before verification (${i.unverifiedFiles.slice(0, 3).join(", ")}${i.unverifiedFiles.length > 3 ? ", ..." : ""})`,
    );
  if (i.failedFiles.length > 0)
    parts.push(
      `${i.failedFiles.length} FAILED verification (${i.failedFiles.slice(0, 3).join(", ")}${i.failedFiles.length > 3 ? ", ..." : ""}); reads fail, \`quilt force-match\` repairs`,
    );
  return `Integrity: ${parts.join("; ")}`;
}
