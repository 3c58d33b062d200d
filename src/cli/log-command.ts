// `quilt log NAME`: every version of a package, newest first: when it was pushed, its top
// hash, and the tags naming it ("latest" included), e.g.
//   2024-11-27T13:44:01Z  18b6a77a6ab3...  latest, v1
import { QuiltError } from "../errors.js";
import { defineCommand } from "./command.js";
import { withRegistry } from "./shared.js";

/** The time column of a version without a timestamp pointer (pushed by tag only). */
const NO_TIME = "-".padEnd("2024-01-01T00:00:00Z".length);

function isoSeconds(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

export const logCommand = defineCommand({
  command: "log <name>",
  describe: "List the versions of a package, newest first, with time, top hash and tags",
  builder: (y) =>
    withRegistry(y)
      .positional("name", { type: "string", describe: "Package name: ns/name", demandOption: true })
      .example("quilt log bucket/dataset", "2024-11-27T13:44:01Z  18b6a77a6ab3...  latest, v1"),
  async handler(args, ctx) {
    const spec = ctx.quilt.parseSpec(args.name, ctx.globals.registry);
    if (spec.tag !== undefined || spec.hash !== undefined) {
      throw new QuiltError(
        "EUSAGE",
        `quilt log takes a package name, not a version: ${JSON.stringify(args.name)}`,
        {
          hint: `run \`quilt log ${spec.name}\``,
        },
      );
    }
    const versions = await ctx.quilt.registry(spec.registry).listVersions(spec.name);
    if (versions.length === 0) {
      throw new QuiltError("ENOTFOUND", `No package ${spec.name} in registry ${spec.registry.url}`, {
        hint: `list the packages there with \`quilt list --registry ${spec.registry.url}\``,
      });
    }
    const rows = versions.map((v) => ({
      topHash: v.topHash,
      time: v.time ? isoSeconds(v.time) : null,
      tags: [...(v.pointers.includes("latest") ? ["latest"] : []), ...[...v.tags].sort()],
    }));
    ctx.print(
      rows.map(
        (r) => `${r.time ?? NO_TIME}  ${r.topHash}${r.tags.length > 0 ? `  ${r.tags.join(", ")}` : ""}`,
      ),
      { registry: spec.registry.url, name: spec.name, versions: rows },
    );
  },
});
