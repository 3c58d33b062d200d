// `quilt set KEY SRC`: one entry of the workspace's package from a local file or an S3
// object, replacing whatever was at KEY, optionally with its user metadata.
import { changeWorkspace, parseUserJson } from "./builder-shared.js";
import { defineCommand } from "./command.js";

export const setCommand = defineCommand({
  builder: (y) =>
    y
      .positional("key", {
        type: "string",
        demandOption: true,
        describe: "Logical key in the package, e.g. train2017/1.jpg",
      })
      .positional("source", {
        type: "string",
        demandOption: true,
        describe: "A local file or s3://bucket/key[?versionId=...]",
      })
      .option("meta", { type: "string", requiresArg: true, describe: "The entry's user metadata, as JSON" })
      .example("quilt set train2017/1.jpg ./replacement/1.jpg", "replace one file")
      .example(
        `quilt set labels.csv s3://bucket/labels.csv --meta '{"rows": 1000}'`,
        "an S3 object, with metadata",
      ),
  async handler(args, ctx) {
    const meta = args.meta === undefined ? undefined : parseUserJson(args.meta, "--meta");
    await changeWorkspace(ctx, async (ws) => {
      ctx.say(`Setting logical key ${args.key} as ${args.source}`);
      await ws.builder.set(args.key, args.source, meta === undefined ? {} : { meta });
      const e = ws.builder.toState().entries.find((x) => x.logicalKey === args.key);
      ctx.print([], { name: ws.builder.name, logicalKey: args.key, source: e?.source.toString() ?? null });
    });
  },
});
