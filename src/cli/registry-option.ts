// The --registry option of every package-naming command, apart from the library that
// opens the registry, so declaring a command's options imports nothing heavy.
import type { Argv } from "yargs";

/** Adds --registry; main.ts's middleware copies it into ctx.globals.registry for every command. */
export function withRegistry<T>(y: Argv<T>) {
  return y.option("registry", {
    type: "string",
    requiresArg: true,
    describe:
      "Registry: s3://bucket, file:///dir or a directory (a bare name must exist: s3://NAME for a bucket; " +
      "default: $QUILT_REGISTRY, else quilt3's local registry)",
  });
}
