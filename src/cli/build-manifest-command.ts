// `quilt build-manifest`: hashes what is not hashed yet (local files on both cores, S3
// objects from their checksum when it gives the hash, else streamed) and prints the top
// hash. Later commands reuse the hashes until a file changes.
import type { Argv } from "yargs";
import { changeWorkspace, hashProgress } from "./builder-shared.js";
import type { CommandContext } from "./context.js";

export const buildManifestCommand = {
  command: "build-manifest",
  describe: "Hash the workspace's data and print the package's top hash",
  builder: (y: Argv) => y.example("quilt build-manifest", "prints Tophash: <64 hex digits>"),
  async run(_args: unknown, ctx: CommandContext): Promise<void> {
    await changeWorkspace(ctx, async (ws) => {
      const progress = hashProgress(ctx);
      const topHash = await ws.builder.buildManifest({ onProgress: progress.onProgress });
      progress.finish();
      ctx.print([], { name: ws.builder.name, topHash, entries: ws.builder.size });
    });
  },
};
