// `quilt set-meta KEY JSON`: user metadata of an entry, of a directory ("dir/") or of the
// package itself ("."), kept exactly as typed (1.0 stays a float, key order is kept).
import { toPlain } from "../manifest/json-value.js";
import { changeWorkspace, parseUserJson } from "./builder-shared.js";
import { defineCommand } from "./command.js";

export const setMetaCommand = defineCommand({
  builder: (y) =>
    y
      .positional("key", {
        type: "string",
        demandOption: true,
        describe: 'Logical key of an entry, a directory ending in "/", or "." for the package',
      })
      .positional("metadata", {
        type: "string",
        demandOption: true,
        describe: "The metadata, as JSON (replaces what was there)",
      })
      .example(`quilt set-meta . '{"project": "coco", "version": 1.0}'`, "package metadata")
      .example(`quilt set-meta train2017/ '{"split": "train"}'`, "directory metadata")
      .example(`quilt set-meta train2017/1.jpg '{"label": "cat"}'`, "entry metadata"),
  async handler(args, ctx) {
    const meta = parseUserJson(args.metadata, "the metadata");
    const target = args.key === "." || args.key === "/" ? "" : args.key;
    await changeWorkspace(ctx, async (ws) => {
      ws.builder.setMeta(target, meta);
      const what =
        target === ""
          ? `package ${ws.builder.name}`
          : target.endsWith("/")
            ? `directory ${target}`
            : `logical key ${target}`;
      ctx.print(`Set metadata of ${what}`, { name: ws.builder.name, key: target, meta: toPlain(meta) });
    });
  },
});
