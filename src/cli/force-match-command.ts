// `quilt force-match DIR [--package NAME]`: makes an installed directory hold exactly the
// files of its version (or of NAME, which it then records as installed): extra files are
// removed, changed ones replaced, missing ones fetched, and each change is printed.
// Refused in a directory without an install record: removing "extra" files from a
// directory we never installed into could delete anything.
import { formatChanges } from "../api/force-match.js";
import { defineCommand } from "./command.js";
import { noInstallError, openInstalled, versionJson } from "./consumer-shared.js";
import { versionLine } from "../manifest/version-label.js";
import { cachedOnlyError, daemonMount, forceMatchMount } from "./mount-checks.js";
import { openPackage } from "./shared.js";
import { withRegistry } from "./registry-option.js";

export const forceMatchCommand = defineCommand({
  builder: (y) =>
    withRegistry(y)
      .positional("dir", {
        type: "string",
        describe: "Installed directory or quilt mount point",
        demandOption: true,
      })
      .option("package", {
        type: "string",
        requiresArg: true,
        describe: "Match this version instead of the installed one",
      })
      .option("deep", {
        type: "boolean",
        default: false,
        describe: "Hash every file, even those unchanged since the install",
      })
      .option("cached-only", {
        type: "boolean",
        default: false,
        describe: "On a mount: check only what is cached before repairing (files not cached are not fetched)",
      })
      .example("quilt force-match ./dataset", "undo local changes to ./dataset")
      .example(
        "quilt force-match ./dataset --package bucket/dataset:v2",
        "switch ./dataset to another version",
      )
      .example(
        "quilt force-match ./mnt",
        "on a mount: evict what fails verification from the cache and fetch it again",
      ),
  async handler(args, ctx) {
    const mount = await daemonMount(args.dir);
    if (mount) return forceMatchMount(ctx, args.dir, mount, args);
    if (args.cachedOnly) throw cachedOnlyError(args.dir);
    const installed = await openInstalled(ctx, args.dir);
    if (!installed) throw noInstallError(args.dir, "then force-match it");
    const pkg = args.package !== undefined ? await openPackage(ctx, args.package) : installed.pkg;
    const progress = ctx.progress("Downloading");
    const changes = await pkg.forceDirectoryToMatchManifest(args.dir, {
      deep: args.deep,
      onProgress: progress.onTransfer,
    });
    progress.finish();
    const human =
      changes.length > 0
        ? formatChanges(changes, args.dir)
        : [`No changes: ${args.dir} already matches ${versionLine(pkg.ref())}`];
    ctx.print(human, { dir: args.dir, ...versionJson(pkg), changes });
  },
});
