// `quilt diff A B`: what changed from version A to version B, by logical key: files added,
// removed, modified (content), or with only their metadata changed. A report, so it exits 0
// whether or not the versions differ.
import { jsonEqual } from "../manifest/json-value.js";
import { userMeta } from "../manifest/manifest.js";
import { defineCommand } from "./command.js";
import { versionJson } from "./consumer-shared.js";
import { versionLine } from "../manifest/version-label.js";
import { openPackage } from "./shared.js";
import { withRegistry } from "./registry-option.js";

export const diffCommand = defineCommand({
  builder: (y) =>
    withRegistry(y)
      .positional("a", {
        type: "string",
        describe: "Older version: ns/name[:tag][@hash]",
        demandOption: true,
      })
      .positional("b", {
        type: "string",
        describe: "Newer version: ns/name[:tag][@hash]",
        demandOption: true,
      })
      .example(
        "quilt diff bucket/dataset:v1 bucket/dataset:v2",
        "added/removed/modified files from v1 to v2",
      ),
  async handler(args, ctx) {
    const a = await openPackage(ctx, args.a);
    const b = await openPackage(ctx, args.b);
    const d = a.diff(b);
    const packageMetadataChanged = !jsonEqual(userMeta(a.manifest.header), userMeta(b.manifest.header));
    const human = [`From: ${versionLine(a.ref())}`, `To:   ${versionLine(b.ref())}`];
    for (const k of d.added) human.push(`  added:    ${k}`);
    for (const k of d.removed) human.push(`  removed:  ${k}`);
    for (const k of d.modified) human.push(`  modified: ${k}`);
    for (const k of d.metadataChanged) human.push(`  metadata: ${k}`);
    if (packageMetadataChanged) human.push("  package metadata changed");
    const same =
      d.added.length + d.removed.length + d.modified.length + d.metadataChanged.length === 0 &&
      !packageMetadataChanged;
    if (same) human.push(a.hash === b.hash ? "Same version" : "No differences in files or metadata");
    ctx.print(human, { from: versionJson(a), to: versionJson(b), ...d, packageMetadataChanged });
  },
});
