// `quilt delete NAME@HASH | NAME:TAG | NAME --all`: removes a version (every pointer naming
// it; `latest` moves to the newest remaining version), one tag, or a whole package, as
// quilt3's `delete_package` does. Pointers only: the data objects and (v1) manifests stay,
// so a deleted version can be tagged again by its hash while its manifest is there.
import { deletePackage } from "../api/package-versions.js";
import { QuiltError } from "../errors.js";
import { defineCommand } from "./command.js";
import { shortHash } from "../manifest/version-label.js";
import { withRegistry } from "./registry-option.js";

export const deleteCommand = defineCommand({
  builder: (y) =>
    withRegistry(y)
      .positional("spec", {
        type: "string",
        describe: "ns/name@HASH (a version), ns/name:TAG (that tag only) or ns/name with --all",
        demandOption: true,
      })
      .option("all", {
        type: "boolean",
        default: false,
        describe: "With a bare name: delete every version and tag of the package",
      })
      .example("quilt delete bucket/dataset@18b6a77a6", "remove that version and the tags naming it")
      .example("quilt delete bucket/dataset:stable", "remove the tag only; the version stays")
      .example("quilt delete bucket/dataset --all", "remove the package from the registry"),
  async handler(args, ctx) {
    const spec = ctx.quilt.parseSpec(args.spec, ctx.globals.registry);
    if (spec.tag !== undefined && spec.hash !== undefined) {
      throw new QuiltError(
        "EUSAGE",
        `Delete ${spec.name}:${spec.tag} or ${spec.name}@${spec.hash}, not both`,
        {
          hint: "a hash deletes the version with all its tags; a tag deletes only that tag",
        },
      );
    }
    const whole = spec.tag === undefined && spec.hash === undefined;
    if (whole !== args.all) {
      throw new QuiltError(
        "EUSAGE",
        whole
          ? `Deleting every version of ${spec.name} needs --all`
          : `--all deletes a whole package: give the bare name ${spec.name}`,
        {
          hint: whole
            ? `\`quilt delete ${spec.name}@HASH\` deletes one version; \`quilt log ${spec.name}\` lists them`
            : `\`quilt delete ${spec.name} --all\``,
        },
      );
    }
    const r = await deletePackage(spec.name, {
      registry: spec.registry.url,
      session: ctx.quilt,
      ...(spec.hash !== undefined && { topHash: spec.hash }),
      ...(spec.tag !== undefined && { tag: spec.tag }),
    });
    const lines =
      r.scope === "package"
        ? [`Deleted ${spec.name} (${r.deleted.length} pointers) from ${spec.registry.url}`]
        : r.scope === "tag"
          ? [`Deleted tag ${spec.name}:${spec.tag}; version ${shortHash(r.topHash ?? "")} stays`]
          : [
              `Deleted version ${shortHash(r.topHash ?? "")} of ${spec.name} (${r.deleted.join(", ")})`,
              ...(r.latest === undefined
                ? []
                : [
                    r.latest === null
                      ? `${spec.name} has no version left`
                      : `latest is now ${shortHash(r.latest)}`,
                  ]),
            ];
    ctx.print(lines, { registry: spec.registry.url, ...r });
  },
});
