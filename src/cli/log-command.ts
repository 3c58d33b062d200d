// `quilt log NAME`: every version of a package, newest first: when it was pushed, its top
// hash, the tags naming it ("latest" included) and, on the next line, its push message
// (quilt3's `message`, from the manifest's header), e.g.
//   2024-11-27T13:44:01Z  18b6a77a6ab3...  latest, v1
//       Relabelled the cats
import { QuiltError } from "../errors.js";
import { forEachLimited } from "../limiter.js";
import { readVersionMessage } from "../storage/manifest-header.js";
import { forTerminal } from "../untrusted-text.js";
import { defineCommand } from "./command.js";
import { withRegistry } from "./registry-option.js";

/** The time column of a version without a timestamp pointer (pushed by tag only). */
const NO_TIME = "-".padEnd("2024-01-01T00:00:00Z".length);
/** Manifest headers read at once. */
const HEADER_READS = 8;

function isoSeconds(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

export const logCommand = defineCommand({
  builder: (y) =>
    withRegistry(y)
      .positional("name", { type: "string", describe: "Package name: ns/name", demandOption: true })
      .example(
        "quilt log bucket/dataset",
        "2024-11-27T13:44:01Z  18b6a77a6ab3...  latest, v1 (then the message, indented)",
      ),
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
    const registry = ctx.quilt.registry(spec.registry);
    const versions = await registry.listVersions(spec.name);
    if (versions.length === 0) {
      throw new QuiltError("ENOTFOUND", `No package ${spec.name} in registry ${spec.registry.url}`, {
        hint: `list the packages there with \`quilt list --registry ${spec.registry.url}\``,
      });
    }
    const messages: (string | null)[] = new Array(versions.length).fill(null);
    await forEachLimited(versions, HEADER_READS, async (v, i) => {
      // v1 first: quilt3's default layout (a v2 manifest costs one more read).
      messages[i] = await readVersionMessage(registry, { name: spec.name, topHash: v.topHash, layout: "v1" });
    });
    const rows = versions.map((v, i) => ({
      topHash: v.topHash,
      time: v.time ? isoSeconds(v.time) : null,
      tags: [...(v.pointers.includes("latest") ? ["latest"] : []), ...[...v.tags].sort()],
      message: messages[i] ?? null,
    }));
    ctx.print(
      rows.flatMap((r) => [
        `${r.time ?? NO_TIME}  ${r.topHash}${r.tags.length > 0 ? `  ${r.tags.join(", ")}` : ""}`,
        ...(r.message !== null ? [`    ${forTerminal(r.message)}`] : []),
      ]),
      { registry: spec.registry.url, name: spec.name, versions: rows },
    );
  },
});
