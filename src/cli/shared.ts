// Pieces every package-naming command shares: the --registry option, turning a spec into
// a browsed Package, and the one-line label used in messages.
import type { Argv } from "yargs";
import { Package } from "../api/package.js";
import type { CommandContext } from "./context.js";

/** Adds --registry; main.ts's middleware copies it into ctx.globals.registry for every command. */
export function withRegistry<T>(y: Argv<T>) {
  return y.option("registry", {
    type: "string",
    requiresArg: true,
    describe:
      "Registry: s3://bucket, file:///dir or a directory (default: $QUILT_REGISTRY, else quilt3's local registry)",
  });
}

/** Browses NAME (ns/name[:tag][@hash] or a full URL) in the command's registry. */
export function openPackage(ctx: CommandContext, spec: string): Promise<Package> {
  return Package.browse(spec, { registry: ctx.globals.registry, context: ctx.quilt });
}
