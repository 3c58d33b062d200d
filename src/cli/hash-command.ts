// `quilt hash`: prints exactly a hash and a newline, for scripts and outside checks.
//   [DIR]            the top hash of the package installed (or built) at DIR, default ".", or
//                    of the version mounted there (the daemon says which; nothing is read)
//   --manifest FILE  the top hash of a manifest file (recomputed, never trusted)
//   --file FILE      a file's entry hash (sha2-256-chunked by default)
import { createReadStream } from "node:fs";
import { QuiltError } from "../errors.js";
import { DEFAULT_HASH_TYPE, HASH_TYPES, hashFile } from "../manifest/checksums.js";
import { readManifest } from "../manifest/manifest-reader.js";
import { readInstallState } from "../api/install-state.js";
import { defineCommand } from "./command.js";
import { daemonMount } from "./mount-checks.js";

export const hashCommand = defineCommand({
  builder: (y) =>
    y
      .positional("dir", {
        type: "string",
        describe: "Directory holding an installed package, or a quilt mount point (default: .)",
      })
      .option("manifest", {
        type: "string",
        describe: "Manifest (JSONL) file whose top hash to print",
        requiresArg: true,
      })
      .option("file", { type: "string", describe: "File whose entry hash to print", requiresArg: true })
      .option("type", {
        choices: [...HASH_TYPES],
        default: DEFAULT_HASH_TYPE,
        describe: "Hash type for --file",
      })
      .conflicts("manifest", "file")
      .conflicts("dir", ["manifest", "file"])
      .example("quilt hash ./dataset", "the top hash of the package installed in ./dataset")
      .example(
        "quilt hash ./mnt",
        "the top hash of the version mounted at ./mnt (after a switch: the new one)",
      )
      .example("quilt hash --manifest .quilt/packages/<hash>", "recompute a manifest's top hash")
      .example("quilt hash --file data.csv --type SHA256", "hash a file as quilt3 would"),
  async handler(args, ctx) {
    if (args.manifest !== undefined) {
      const manifest = await readManifest(createReadStream(args.manifest));
      ctx.io.out(manifest.topHash + "\n");
      return;
    }
    if (args.file !== undefined) {
      const h = await hashFile(args.file, args.type);
      ctx.io.out(h.value + "\n");
      return;
    }
    const dir = args.dir ?? ".";
    const mount = await daemonMount(dir);
    if (mount) {
      ctx.io.out(mount.info.topHash + "\n");
      return;
    }
    const state = await readInstallState(dir);
    if (!state) {
      throw new QuiltError("ENOTFOUND", `${dir} holds no installed package`, {
        hint: "install one with `quilt install NAME --dest DIR`, or give --manifest FILE or --file FILE",
      });
    }
    ctx.io.out(state.topHash + "\n");
  },
});
