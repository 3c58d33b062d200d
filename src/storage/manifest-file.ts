// A manifest about to be pushed, written to a temporary file rather than held as one
// Buffer (a million entries are about 250 MB of JSON Lines), and checked as it is written:
// each batch of bytes is hashed (SHA-256, for the manifest cache's sidecar) and parsed back
// by streamManifest, the reader every streaming path uses, and the top hash of what was
// parsed back must be the manifest's before the file is uploaded or any pointer names it.
// A writer bug that changed a byte the top hash covers is caught there, as the whole-bytes
// re-read caught it before; memory holds one batch, not the file nor a second parsed manifest.
import { createHash, randomBytes } from "node:crypto";
import { open, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Manifest } from "../manifest/manifest.js";
import { streamManifest } from "../manifest/manifest-stream.js";
import { manifestChunks } from "../manifest/manifest-writer.js";
import { hashMismatch } from "./manifest-cache.js";

export interface ManifestFile {
  path: string;
  /** SHA-256 (hex) of the file's bytes. */
  sha256: string;
  /** Removes the file unless it was moved away (ManifestCache.adopt). */
  discard(): Promise<void>;
}

/** `m`'s bytes in a new file in `dir`, verified as written; `where` names the manifest in a mismatch error. */
export async function writeManifestFile(m: Manifest, dir: string, where: string): Promise<ManifestFile> {
  const path = join(dir, `.${randomBytes(6).toString("hex")}.push.tmp`);
  const discard = () => rm(path, { force: true });
  const fh = await open(path, "wx");
  const sha = createHash("sha256");
  try {
    async function* written(): AsyncGenerator<Buffer> {
      for (const chunk of manifestChunks(m)) {
        sha.update(chunk);
        await fh.writeFile(chunk); // appends: a handle's writeFile writes from its current position
        yield chunk;
      }
    }
    const read = await streamManifest(written(), () => {});
    if (read.topHash !== m.topHash) throw hashMismatch(m.topHash, read.topHash, where);
    await fh.close();
  } catch (err) {
    await fh.close().catch(() => undefined);
    await discard();
    throw err;
  }
  return { path, sha256: sha.digest("hex"), discard };
}
