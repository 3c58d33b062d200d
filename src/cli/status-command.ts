// `quilt status [DIR]`: what DIR holds and whether it changed. For an installed package:
//   Package: ns/name:tag (18b6a77a6)
//   No files have been changed                  (exit 0)
// or the changed, missing and extra files       (exit 1).
//
// DIR may instead be a builder workspace (.quilt/workspace.json in DIR or a parent), whose
// status workspace-status.ts prints. An install record wins: a directory with
// .quilt/installed.json shows the install; otherwise the workspace at or above it; when
// there is neither, DIR holds nothing we know and the command fails with a hint.
import { QuiltError } from "../errors.js";
import type { CommandContext } from "./context.js";
import { defineCommand } from "./command.js";
import { openInstalled, versionJson } from "./consumer-shared.js";
import { shellQuote } from "./shell-quote.js";
import { versionLine } from "../manifest/version-label.js";
import { EXIT_DIFFERENCE } from "./exit-codes.js";
import { daemonMount, mountStatus } from "./mount-checks.js";
import { workspaceStatus } from "./workspace-status.js";

/**
 * The status of the package installed in `dir`; false (nothing printed) when `dir` has no
 * install record. Sets exit status 1 when files changed.
 */
export async function installedStatus(ctx: CommandContext, dir: string): Promise<boolean> {
  const installed = await openInstalled(ctx, dir);
  if (!installed) return false;
  const { pkg } = installed;
  const progress = ctx.progress("Checking files");
  const r = await pkg.verifyDirectoryMatchesManifest(dir, {
    onProgress: progress.onHashing,
  });
  progress.finish();
  if (!r.ok) ctx.exitCode = EXIT_DIFFERENCE;
  const human = [`Package: ${versionLine(pkg.ref())}`];
  if (r.ok) human.push("No files have been changed");
  else {
    human.push("Files that differ from the package:");
    for (const k of r.modified) human.push(`  changed: ${k}`);
    for (const k of r.missing) human.push(`  missing: ${k}`);
    for (const k of r.extra) human.push(`  extra:   ${k}`);
    human.push(`Restore the package's files with \`quilt force-match ${shellQuote(dir)}\``);
  }
  ctx.print(human, {
    kind: "installed",
    dir,
    ...versionJson(pkg),
    ok: r.ok,
    changed: r.modified,
    missing: r.missing,
    extra: r.extra,
  });
  return true;
}

export const statusCommand = defineCommand({
  builder: (y) =>
    y
      .positional("dir", {
        type: "string",
        describe: "Installed directory, builder workspace or quilt mount point (default: .)",
      })
      .example(
        "quilt status ./dataset",
        "Package: bucket/dataset:tag (18b6a77a6) / No files have been changed",
      )
      .example("quilt status --json", "the same as one JSON document"),
  async handler(args, ctx) {
    const dir = args.dir ?? ".";
    const mount = await daemonMount(dir);
    if (mount) return mountStatus(ctx, dir, mount);
    if (await installedStatus(ctx, dir)) return;
    if (await workspaceStatus(ctx, dir)) return;
    throw new QuiltError("ENOTFOUND", `${dir} holds no installed package and no builder workspace`, {
      hint: `install a package with \`quilt install NAME --dest ${shellQuote(dir)}\`, or start a package with \`quilt init NAME\``,
    });
  },
});
