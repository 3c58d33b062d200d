// `quilt set KEY SRC`: one entry of the workspace's package from a local file or an S3
// object, replacing whatever was at KEY, optionally with its user metadata.
import type { Argv } from "yargs";
import { changeWorkspace, parseUserJson } from "./builder-shared.js";
import type { CommandContext } from "./context.js";

interface SetArgs {
  key: string;
  source: string;
  meta?: string;
}

export const setCommand = {
  command: "set <key> <source>",
  describe: "Set one entry of the workspace's package to a local file or an S3 object",
  builder: (y: Argv) =>
    y
      .positional("key", { type: "string", describe: "Logical key in the package, e.g. train2017/1.jpg" })
      .positional("source", { type: "string", describe: "A local file or s3://bucket/key[?versionId=...]" })
      .option("meta", { type: "string", requiresArg: true, describe: "The entry's user metadata, as JSON" })
      .example("quilt set train2017/1.jpg ./replacement/1.jpg", "replace one file")
      .example(
        `quilt set labels.csv s3://bucket/labels.csv --meta '{"rows": 1000}'`,
        "an S3 object, with metadata",
      ),
  async run(args: SetArgs, ctx: CommandContext): Promise<void> {
    const meta = args.meta === undefined ? undefined : parseUserJson(args.meta, "--meta");
    await changeWorkspace(ctx, async (ws) => {
      ctx.say(`Setting logical key ${args.key} as ${args.source}`);
      await ws.builder.set(args.key, args.source, meta === undefined ? {} : { meta });
      const e = ws.builder.toState().entries.find((x) => x.logicalKey === args.key);
      ctx.print([], { name: ws.builder.name, logicalKey: args.key, source: e?.source.toString() ?? null });
    });
  },
};
