// `quilt switch DIR SPEC`: moves a mount to another version in one step, and
// `quilt switch DIR --previous` back to the version before the last switch. The daemon
// loads and verifies the new manifest before anything changes, so a failure leaves the
// mount as it was; then the new version replaces the old at once: files opened before keep
// their old bytes, every open after sees the new version.
import { resolve } from "node:path";
import { DaemonClient } from "../daemon/client.js";
import { daemonPaths } from "../daemon/paths.js";
import { credentialsFingerprint } from "../daemon/s3-context.js";
import { QuiltError, isQuiltError } from "../errors.js";
import { defineCommand } from "./command.js";
import { shortHash } from "../manifest/version-label.js";

function version(v: { package: string; topHash: string }): string {
  return `${v.package} (${shortHash(v.topHash)})`;
}

export const switchCommand = defineCommand({
  session: false,
  builder: (y) =>
    y
      .positional("dir", {
        type: "string",
        demandOption: true,
        describe: "The mount point (made by quilt mount)",
      })
      .positional("spec", {
        type: "string",
        describe: "The version: a tag (v2), :tag, @hash, or ns/name[:tag][@hash] in the mount's registry",
      })
      .option("previous", {
        type: "boolean",
        default: false,
        describe:
          "Return to the version served before the last switch (a second --previous goes forward again)",
      })
      .epilog(
        "The new version's manifest is loaded and verified before anything changes: if it cannot be (an unknown tag, a bad manifest, no access), " +
          "the mount keeps serving the old version and the command fails. Then the switch is one step: programs that have files open go on reading " +
          "the old version's bytes until they close them; every open after the switch, and every listing, sees the new version only. " +
          "One exception: the kernel keeps one size and page cache per path, so while a file opened before the switch is still open, opening " +
          "or stat-ing the same path in the new version (where its bytes differ) can show the old reader the new size and pages; switch when " +
          "readers are between files (the command says how many files were still open). " +
          "Bytes both versions share stay in the cache. The mount keeps its registry, S3 endpoint and --verify mode; `quilt mounts` shows the version " +
          "and the previous one, and a daemon restart restores the version switched to.",
      )
      .example("quilt switch ./dataset v2", "roll forward to the version tagged v2 of the mounted package")
      .example("quilt switch ./dataset @1a2b3c4d", "switch to a version by (a prefix of) its top hash")
      .example("quilt switch ./dataset --previous", "roll back to the version before the last switch"),
  async handler(args, ctx) {
    if (args.previous === (args.spec !== undefined)) {
      throw new QuiltError(
        "EUSAGE",
        args.previous
          ? "Give either a SPEC or --previous, not both"
          : "Give the version to switch to (SPEC), or --previous",
        { hint: "quilt switch DIR v2, or quilt switch DIR --previous" },
      );
    }
    const credentials = credentialsFingerprint(process.env);
    const mountpoint = resolve(args.dir);
    const info = await new DaemonClient(daemonPaths().socket)
      .request("switch", {
        mountpoint,
        ...(args.previous ? { previous: true } : { spec: args.spec }),
        ...(credentials !== undefined && { credentials }),
      })
      .catch((err: unknown) => {
        if (isQuiltError(err, "EUNREACHABLE")) {
          throw new QuiltError(
            "EUNREACHABLE",
            `No quilt daemon is running, so ${args.dir} is not a quilt mount to switch`,
            { hint: "mount it first: quilt mount SPEC DIR" },
          );
        }
        throw err;
      });
    const human = info.unchanged
      ? `${info.mountpoint} already serves ${version(info)}`
      : `Switched ${info.mountpoint} to ${version(info)}${info.previous ? `; was ${version(info.previous)} (quilt switch ${args.dir} --previous returns to it)` : ""}`;
    const open = info.stillOpen ?? 0;
    const lines = [
      human,
      ...(open > 0
        ? [
            `${open} file${open === 1 ? " was" : "s were"} open before the switch: ${open === 1 ? "it reads" : "they read"} the old version until closed (see \`quilt switch --help\` on opening the same path meanwhile)`,
          ]
        : []),
    ];
    ctx.print(lines, { ...info, unchanged: info.unchanged === true, stillOpen: open });
  },
});
