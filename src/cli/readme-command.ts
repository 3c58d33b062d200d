// `quilt readme NAME`: the package's README (README.md, else the first readme-like file at
// the top), the first thing to read when exploring a dataset.
import type { Argv } from "yargs";
import type { CommandContext } from "./context.js";
import { hinted, shellQuote, versionJson } from "./consumer-shared.js";
import { openPackage, withRegistry } from "./shared.js";

export const readmeCommand = {
  command: "readme <name>",
  describe: "Print the README of a package",
  builder: (y: Argv) =>
    withRegistry(y)
      .positional("name", { type: "string", describe: "Package: ns/name[:tag][@hash]", demandOption: true })
      .example("quilt readme bucket/dataset", "# Dataset ..."),
  async run(args: { name: string }, ctx: CommandContext): Promise<void> {
    const pkg = await openPackage(ctx, args.name);
    const text = await hinted(
      () => pkg.readme(),
      `\`quilt ls ${shellQuote(args.name)}\` shows what the package holds`,
    );
    if (ctx.globals.json) ctx.print([], { ...versionJson(pkg), readme: text });
    else ctx.io.out(text.endsWith("\n") || text === "" ? text : text + "\n");
  },
};
