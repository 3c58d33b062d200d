// `quilt cat NAME KEY`: the bytes of one file of a package on stdout, exactly (binary
// files too), verified against the manifest's hash before a byte is written. Large files
// go out in pieces from the local cache, so memory stays bounded whatever their size.
import { errnoCode } from "../errors.js";
import { defineCommand } from "./command.js";
import { hinted, shellQuote } from "./consumer-shared.js";
import { openPackage, withRegistry } from "./shared.js";

export const catCommand = defineCommand({
  command: "cat <name> <key>",
  describe: "Write the bytes of a file of a package to stdout",
  builder: (y) =>
    withRegistry(y)
      .positional("name", { type: "string", describe: "Package: ns/name[:tag][@hash]", demandOption: true })
      .positional("key", {
        type: "string",
        describe: "Logical key of the file, e.g. cats/file1.txt",
        demandOption: true,
      })
      .example("quilt cat bucket/dataset cats/file1.txt", "print a file")
      .example("quilt cat bucket/dataset:v2 images/1.jpg > 1.jpg", "save a binary file"),
  async handler(args, ctx) {
    const pkg = await openPackage(ctx, args.name);
    const hint = `\`quilt ls ${shellQuote(args.name)}\` lists the package's files`;
    const entry = await hinted(async () => pkg.getEntry(args.key), hint);
    try {
      for await (const piece of entry.chunks()) await ctx.io.outBytes(piece);
    } catch (err) {
      // The reader went away (`quilt cat ... | head`): nothing more to say, like cat.
      if (errnoCode(err) !== "EPIPE") throw err;
    }
  },
});
