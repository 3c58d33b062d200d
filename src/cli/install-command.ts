// `quilt install NAME [--dest DIR] [--path PREFIX]...`: installs a package version into a
// directory, incrementally (files already holding the right bytes are kept), and records
// which version the directory holds so `status`, `verify`, `hash` and `force-match` know.
import { resolve } from "node:path";
import { QuiltError } from "../errors.js";
import { defineCommand } from "./command.js";
import { shellQuote } from "./shell-quote.js";
import { versionLine } from "../manifest/version-label.js";
import { formatBytes } from "./progress.js";
import { openPackageAt } from "./shared.js";
import { withRegistry } from "./registry-option.js";
import { quoted } from "../untrusted-text.js";

export const installCommand = defineCommand({
  builder: (y) =>
    withRegistry(y)
      .positional("name", {
        type: "string",
        describe:
          "Package: ns/name[:tag][@hash], s3://bucket/ns/name[:tag], or a quilt+ URI whose &path= stands for --path",
        demandOption: true,
      })
      .option("dest", {
        alias: "location",
        type: "string",
        requiresArg: true,
        describe: "Directory to install into (default: ./<name>)",
      })
      .option("path", {
        type: "string",
        array: true,
        requiresArg: true,
        describe: "Install only this key or directory (repeatable)",
      })
      .example("quilt install bucket/dataset:tag --location ./dataset", "install (or update) ./dataset")
      .example(
        "quilt install bucket/dataset --path train/ --path README.md",
        "install part of the latest version",
      )
      .example(
        "quilt install 'quilt+s3://bucket#package=ns/dataset:v1&path=train/' --dest ./dataset",
        "install the part a URI names",
      ),
  async handler(args, ctx) {
    const { pkg, path } = await openPackageAt(ctx, args.name, args.path, "--path");
    const dest = args.dest ?? `./${pkg.name.split("/")[1]}`;
    const paths = path !== undefined ? [path] : (args.path ?? []);
    for (const p of paths) {
      if (!pkg.has(p) && pkg.entries(p).length === 0) {
        throw new QuiltError("ENOTFOUND", `No entry or directory ${quoted(p)} in ${pkg.label}`, {
          hint: `\`quilt ls ${shellQuote(args.name)}\` lists what the package holds`,
        });
      }
    }
    ctx.say(`Installing Package ${pkg.label} to ${dest.replace(/\/+$/, "")}/...`);
    const progress = ctx.progress("Downloading");
    const result = await pkg.download(dest, {
      ...(paths.length > 0 && { paths }),
      onProgress: progress.onTransfer,
    });
    progress.finish();
    const fetched = result.fetched.length;
    const unchanged = result.unchanged.length;
    ctx.print(
      `Installed ${versionLine(pkg.ref())}: ${fetched} ${fetched === 1 ? "file" : "files"} fetched (${formatBytes(result.bytesFetched)}), ${unchanged} unchanged`,
      {
        name: pkg.name,
        tag: pkg.tag ?? null,
        topHash: pkg.hash,
        dest: resolve(dest),
        fetched,
        unchanged,
        bytesFetched: result.bytesFetched,
      },
    );
  },
});
