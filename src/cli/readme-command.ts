// `quilt readme NAME`: the package's README (README.md, else the first readme-like file at
// the top), the first thing to read when exploring a dataset.
import { defineCommand } from "./command.js";
import { hinted, versionJson } from "./consumer-shared.js";
import { shellQuote } from "./shell-quote.js";
import { openPackage } from "./shared.js";
import { withRegistry } from "./registry-option.js";

export const readmeCommand = defineCommand({
  builder: (y) =>
    withRegistry(y)
      .positional("name", { type: "string", describe: "Package: ns/name[:tag][@hash]", demandOption: true })
      .example("quilt readme bucket/dataset", "# Dataset ..."),
  async handler(args, ctx) {
    const pkg = await openPackage(ctx, args.name);
    const text = await hinted(
      () => pkg.readme(),
      `\`quilt ls ${shellQuote(args.name)}\` shows what the package holds`,
    );
    if (ctx.globals.json) ctx.print([], { ...versionJson(pkg), readme: text });
    else ctx.io.out(text.endsWith("\n") || text === "" ? text : text + "\n");
  },
});
