// `quilt list`: the packages in a registry (--registry, else $QUILT_REGISTRY, else the
// local registry), one "ns/name" a line.
import type { Argv } from "yargs";
import type { CommandContext } from "./context.js";
import { withRegistry } from "./shared.js";

export const listCommand = {
  command: "list",
  describe: "List the packages in a registry",
  builder: (y: Argv) =>
    withRegistry(y)
      .example("quilt list --registry s3://bucket", "every package in the bucket")
      .example("quilt list --json", "the packages of the default registry as JSON"),
  async run(_args: unknown, ctx: CommandContext): Promise<void> {
    const url = ctx.quilt.registryUrl(ctx.globals.registry);
    const packages = await ctx.quilt.registry(url).listPackages();
    ctx.print(packages, { registry: url.url, packages });
  },
};
