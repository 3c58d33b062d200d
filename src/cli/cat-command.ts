// `quilt cat NAME KEY`: the bytes of one file of a package on stdout, exactly (binary
// files too), verified against the manifest's hash before a byte is written. Large files
// go out in pieces from the local cache, so memory stays bounded whatever their size.
import { errnoCode } from "../errors.js";
import { defineCommand } from "./command.js";
import { hinted } from "./consumer-shared.js";
import { shellQuote } from "./shell-quote.js";
import { openPackageAt, uriHasPath } from "./shared.js";
import { withRegistry } from "./registry-option.js";

export const catCommand = defineCommand({
  builder: (y) =>
    withRegistry(y)
      .positional("name", {
        type: "string",
        describe: "Package: ns/name[:tag][@hash], or a quilt+ URI whose &path= names the file (then no KEY)",
        demandOption: true,
      })
      .positional("key", { type: "string", describe: "Logical key of the file, e.g. cats/file1.txt" })
      .check(
        (argv) =>
          argv.key !== undefined ||
          uriHasPath(argv.name) ||
          "Not enough arguments: give KEY, or a quilt+ URI whose &path= names the file",
      )
      .example("quilt cat bucket/dataset cats/file1.txt", "print a file")
      .example("quilt cat bucket/dataset:v2 images/1.jpg > 1.jpg", "save a binary file")
      .example(
        "quilt cat 'quilt+s3://bucket#package=ns/dataset:v2&path=cats/file1.txt'",
        "a file named by a URI",
      ),
  async handler(args, ctx) {
    const { pkg, path } = await openPackageAt(ctx, args.name, args.key, "KEY");
    const key = path ?? args.key ?? "";
    const hint = `\`quilt ls ${shellQuote(args.name)}\` lists the package's files`;
    const entry = await hinted(async () => pkg.getEntry(key), hint);
    try {
      for await (const piece of entry.chunks()) await ctx.io.outBytes(piece);
    } catch (err) {
      // The reader went away (`quilt cat ... | head`): nothing more to say, like cat.
      if (errnoCode(err) !== "EPIPE") throw err;
    }
  },
});
