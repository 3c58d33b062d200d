// `quilt meta NAME [KEY]`: user metadata as JSON: the package's, one entry's, or a
// directory's (quilt3's directory metadata; {} for a directory without, as quilt3 gives).
// Printed indented for people, on one line with --json; big integers stay exact either way.
import { defineCommand } from "./command.js";
import { formatJson, hinted } from "./consumer-shared.js";
import { shellQuote } from "./shell-quote.js";
import { openPackageAt } from "./shared.js";
import { withRegistry } from "./registry-option.js";

/** Indentation of the human (non --json) output, in spaces. */
const HUMAN_INDENT = 2;

export const metaCommand = defineCommand({
  builder: (y) =>
    withRegistry(y)
      .positional("name", {
        type: "string",
        describe: "Package: ns/name[:tag][@hash], or a quilt+ URI whose &path= stands for KEY",
        demandOption: true,
      })
      .positional("key", {
        type: "string",
        describe:
          "Logical key of a file, or a directory (dir/: its directory metadata, {} if it has none); default: the package's own",
      })
      .example("quilt meta bucket/dataset", "the package metadata")
      .example("quilt meta bucket/dataset labels/1.json --json", "a file's metadata on one line")
      .example(
        "quilt meta bucket/dataset labels/",
        "the directory's metadata (quilt3's set_dir(..., meta=))",
      ),
  async handler(args, ctx) {
    const { pkg, path } = await openPackageAt(ctx, args.name, args.key, "KEY");
    const key = path ?? args.key;
    const meta =
      key === undefined
        ? pkg.metadata
        : await hinted(
            () => pkg.getMetadata(key),
            `\`quilt ls ${shellQuote(args.name)}\` lists the package's files`,
          );
    ctx.io.out(formatJson(meta, ctx.globals.json ? 0 : HUMAN_INDENT) + "\n");
  },
});
