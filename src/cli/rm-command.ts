// `quilt rm KEY`: takes an entry, or a directory with everything under it, out of the
// workspace's package. Nothing is deleted from disk or S3.
import { changeWorkspace } from "./builder-shared.js";
import { defineCommand } from "./command.js";

export const rmCommand = defineCommand({
  builder: (y) =>
    y
      .positional("key", {
        type: "string",
        demandOption: true,
        describe: "A logical key, or a directory (everything under it)",
      })
      .example("quilt rm train2017/1.jpg", "remove one entry")
      .example("quilt rm val2017/", "remove a directory"),
  async handler(args, ctx) {
    await changeWorkspace(ctx, async (ws) => {
      const before = ws.builder.keys();
      ws.builder.delete(args.key);
      const after = new Set(ws.builder.keys());
      const removed = before.filter((k) => !after.has(k));
      ctx.print(
        `Removed ${removed.length === 1 ? removed[0] : `${removed.length} entries under ${args.key.endsWith("/") ? args.key : args.key + "/"}`}`,
        {
          name: ws.builder.name,
          removed,
        },
      );
    });
  },
});
