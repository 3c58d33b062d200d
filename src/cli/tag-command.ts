// `quilt tag NAME@HASH TAG`: points a tag at an existing version (written as quilt3 does,
// so quilt3 sees it too). The version must be named explicitly, by hash or by another tag.
import { QuiltError } from "../errors.js";
import { defineCommand } from "./command.js";
import { shortHash } from "../manifest/version-label.js";
import { withRegistry } from "./registry-option.js";

export const tagCommand = defineCommand({
  builder: (y) =>
    withRegistry(y)
      .positional("version", {
        type: "string",
        describe: "The version: ns/name@hash (or ns/name:othertag)",
        demandOption: true,
      })
      .positional("tag", {
        type: "string",
        describe: "The tag to set, e.g. v1 or stable",
        demandOption: true,
      })
      .example("quilt tag bucket/dataset@18b6a77a6 stable", "bucket/dataset:stable now names 18b6a77a6..."),
  async handler(args, ctx) {
    const spec = ctx.quilt.parseSpec(args.version, ctx.globals.registry);
    if (spec.tag === undefined && spec.hash === undefined) {
      throw new QuiltError(
        "EUSAGE",
        `Which version of ${spec.name} should be tagged ${JSON.stringify(args.tag)}?`,
        {
          hint: `name it by hash: \`quilt tag ${spec.name}@HASH ${args.tag}\` (\`quilt log ${spec.name}\` lists the hashes)`,
        },
      );
    }
    const registry = ctx.quilt.registry(spec.registry);
    const resolved = await registry.resolve(spec.name, {
      ...(spec.tag !== undefined && { tag: spec.tag }),
      ...(spec.hash !== undefined && { hash: spec.hash }),
    });
    await registry.setTag(spec.name, resolved.topHash, args.tag);
    ctx.print(`Tagged ${spec.name}@${shortHash(resolved.topHash)} as ${spec.name}:${args.tag}`, {
      registry: spec.registry.url,
      name: spec.name,
      tag: args.tag,
      topHash: resolved.topHash,
    });
  },
});
