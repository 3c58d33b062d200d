// `quilt ls NAME [PREFIX]`: the immediate children of a directory of a package, read from
// the manifest alone (no data is fetched). Full logical keys, directories ending in "/",
// as in the Explore use case; --json adds sizes, hashes and where each file lives.
import { PackageEntry } from "../api/package-entry.js";
import { defineCommand } from "./command.js";
import { hinted, versionJson } from "./consumer-shared.js";
import { shellQuote } from "./shell-quote.js";
import { openPackageAt } from "./shared.js";
import { withRegistry } from "./registry-option.js";

type Listed =
  | { key: string; type: "file"; size: number; hash: { type: string; value: string }; physicalKey: string }
  | { key: string; type: "dir"; size: number; files: number };

export const lsCommand = defineCommand({
  builder: (y) =>
    withRegistry(y)
      .positional("name", {
        type: "string",
        describe: "Package: ns/name[:tag][@hash], or a quilt+ URI whose &path= stands for PREFIX",
        demandOption: true,
      })
      .positional("prefix", {
        type: "string",
        describe: "Directory inside the package, e.g. cats/ (default: the top)",
      })
      .example("quilt ls bucket/dataset", "README.md, cats/, dogs/ ...")
      .example("quilt ls bucket/dataset:v2 cats/ --json", "the entries under cats/ with sizes")
      .example("quilt ls 'quilt+s3://bucket#package=ns/dataset@3f2a9c&path=cats/'", "what is under cats/"),
  async handler(args, ctx) {
    const { pkg, path } = await openPackageAt(ctx, args.name, args.prefix, "PREFIX");
    const prefix = path ?? args.prefix ?? "";
    // A file key lists that file, like `ls FILE`.
    const children = pkg.has(prefix)
      ? [pkg.getEntry(prefix)]
      : await hinted(
          () => pkg.ls(prefix),
          `\`quilt ls ${shellQuote(args.name)}\` lists the top of the package`,
        );
    const listed: Listed[] = children.map((c) => {
      if (c instanceof PackageEntry)
        return { key: c.logicalKey, type: "file", size: c.size, hash: c.hash, physicalKey: c.physicalKey };
      const under = pkg.entries(c.logicalKey);
      return {
        key: c.logicalKey,
        type: "dir",
        size: under.reduce((n, e) => n + e.size, 0),
        files: under.length,
      };
    });
    ctx.print(
      listed.map((x) => x.key),
      { ...versionJson(pkg), prefix, entries: listed },
    );
  },
});
