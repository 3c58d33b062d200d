// `quilt build-manifest`: hashes what is not hashed yet (local files on both cores, S3
// objects from their checksum when it gives the hash, else streamed) and prints the top
// hash. Later commands reuse the hashes until a file changes.
import { changeWorkspace } from "./builder-shared.js";
import { defineCommand } from "./command.js";

export const buildManifestCommand = defineCommand({
  builder: (y) => y.example("quilt build-manifest", "prints Tophash: <64 hex digits>"),
  async handler(_args, ctx) {
    await changeWorkspace(ctx, async (ws) => {
      const progress = ctx.progress("Hashing");
      const topHash = await ws.builder.buildManifest({ onProgress: progress.onHashing });
      progress.finish();
      ctx.print([], { name: ws.builder.name, topHash, entries: ws.builder.size });
    });
  },
});
