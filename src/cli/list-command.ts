// `quilt list`: the packages in a registry (--registry, else $QUILT_REGISTRY, else the
// local registry), one "ns/name" a line.
import { stat } from "node:fs/promises";
import { QuiltError } from "../errors.js";
import { defineCommand } from "./command.js";
import { withRegistry } from "./registry-option.js";

export const listCommand = defineCommand({
  builder: (y) =>
    withRegistry(y)
      .example("quilt list --registry s3://bucket", "every package in the bucket")
      .example("quilt list --json", "the packages of the default registry as JSON"),
  async handler(_args, ctx) {
    const url = ctx.quilt.registryUrl(ctx.globals.registry);
    // A local registry named by the user that is not there is a mistake (a typo, an unmounted
    // disk), not an empty registry. quilt3's default one may simply not exist yet: empty.
    const named = ctx.globals.registry ?? process.env.QUILT_REGISTRY;
    if (url.kind === "file" && named !== undefined && !(await isDirectory(url.dir))) {
      throw new QuiltError("ENOTFOUND", `Registry ${url.dir} does not exist (or is not a directory)`, {
        hint: "check the path; a local registry is a directory that `quilt push` (or quilt3) has written packages to",
      });
    }
    const packages = await ctx.quilt.registry(url).listPackages();
    ctx.print(packages, { registry: url.url, packages });
  },
});

async function isDirectory(path: string): Promise<boolean> {
  return stat(path).then(
    (st) => st.isDirectory(),
    () => false,
  );
}
