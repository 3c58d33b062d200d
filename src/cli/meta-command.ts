// `quilt meta NAME [KEY]`: user metadata as JSON: the package's, or one entry's. Printed
// indented for people, on one line with --json; big integers stay exact either way.
import { defineCommand } from "./command.js";
import { formatJson, hinted, shellQuote } from "./consumer-shared.js";
import { openPackage, withRegistry } from "./shared.js";

/** Indentation of the human (non --json) output, in spaces. */
const HUMAN_INDENT = 2;

export const metaCommand = defineCommand({
  command: "meta <name> [key]",
  describe: "Print the user metadata of a package, or of one of its files, as JSON",
  builder: (y) =>
    withRegistry(y)
      .positional("name", { type: "string", describe: "Package: ns/name[:tag][@hash]", demandOption: true })
      .positional("key", {
        type: "string",
        describe: "Logical key of a file (default: the package's own metadata)",
      })
      .example("quilt meta bucket/dataset", "the package metadata")
      .example("quilt meta bucket/dataset labels/1.json --json", "a file's metadata on one line"),
  async handler(args, ctx) {
    const pkg = await openPackage(ctx, args.name);
    const key = args.key;
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
