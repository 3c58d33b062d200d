// `quilt verify DIR [--extra-files-ok] [--deep] [--package NAME]`: does DIR hold exactly the
// files of its installed version (or of NAME)? Exit 0 when it does, 1 with one line per
// difference (the use case's wording) and the command that fixes it, when it does not.
// A file is hashed unless its size, mtime, ctime and inode are all what our install recorded
// (no user can set a ctime back, so a rewrite with its mtime restored is hashed); --deep
// hashes every file, as quilt3's verify always does.
import { formatVerifyReport } from "../api/verify-directory.js";
import type { CommandContext } from "./context.js";
import { defineCommand } from "./command.js";
import { noInstallError, openInstalled, versionJson } from "./consumer-shared.js";
import { shellQuote } from "./shell-quote.js";
import { EXIT_DIFFERENCE } from "./exit-codes.js";
import { cachedOnlyError, daemonMount, verifyMount } from "./mount-checks.js";
import { openPackage } from "./shared.js";
import { withRegistry } from "./registry-option.js";

/** The `--package NAME [--registry R]` part of a command we suggest, empty without --package. */
export function packageArgs(spec: string | undefined, ctx: CommandContext): string {
  if (spec === undefined) return "";
  const registry = ctx.globals.registry;
  return ` --package ${shellQuote(spec)}${registry !== undefined ? ` --registry ${shellQuote(registry)}` : ""}`;
}

export const verifyCommand = defineCommand({
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
        describe: "Check against this version instead of the installed one",
      })
      .option("extra-files-ok", {
        type: "boolean",
        default: false,
        describe: "Files that are not in the package do not count as differences",
      })
      .option("deep", {
        type: "boolean",
        default: false,
        describe:
          "Hash every file. Without it a file is hashed unless its size, mtime, ctime and inode are all what the install " +
          "recorded (a ctime cannot be set back, so a file rewritten with its mtime restored is still hashed)",
      })
      .option("cached-only", {
        type: "boolean",
        default: false,
        describe:
          "On a mount: re-hash only what is cached; files not cached are reported as not verified (exit 1), not fetched",
      })
      .example("quilt verify ./dataset", "exit 0 when ./dataset matches its manifest")
      .example(
        "quilt verify ./dataset --package bucket/dataset:v2 --deep",
        "compare every byte with another version",
      )
      .example("quilt verify ./mnt", "on a mount: re-hash what is cached, fetch and verify the rest")
      .example(
        "quilt verify ./mnt --cached-only",
        "on a mount: check the cache only; exit 1 while anything is not verified",
      ),
  async handler(args, ctx) {
    const mount = await daemonMount(args.dir);
    if (mount) return verifyMount(ctx, args.dir, mount, args);
    if (args.cachedOnly) throw cachedOnlyError(args.dir);
    const pkg =
      args.package !== undefined
        ? await openPackage(ctx, args.package)
        : (await openInstalled(ctx, args.dir))?.pkg;
    if (!pkg) throw noInstallError(args.dir, "or give the version to compare with: --package NAME");
    const progress = ctx.progress("Hashing");
    const r = await pkg.verifyDirectoryMatchesManifest(args.dir, {
      deep: args.deep,
      extraFilesOk: args.extraFilesOk,
      onProgress: progress.onHashing,
    });
    progress.finish();
    if (!r.ok) ctx.exitCode = EXIT_DIFFERENCE;
    const fix = `quilt force-match ${shellQuote(args.dir)}${packageArgs(args.package, ctx)}`;
    const human = r.ok
      ? [`${args.dir} matches manifest ${pkg.label}`]
      : formatVerifyReport(r, args.dir, pkg.label, fix);
    ctx.print(human, {
      dir: args.dir,
      ...versionJson(pkg),
      ok: r.ok,
      missing: r.missing,
      extra: r.extra,
      modified: r.modified,
      hashed: r.hashed,
    });
  },
});
