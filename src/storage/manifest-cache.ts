// Manifests are immutable and named by their top hash, so each is fetched from its
// registry once and kept on local disk; a few parsed ones are also kept in memory. Every
// load from disk or network recomputes the top hash and refuses a manifest whose content
// does not match its name (a corrupt cache file is deleted and fetched again).
import { createReadStream } from "node:fs";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { LRUCache } from "lru-cache";
import { QuiltError, errnoCode, isQuiltError } from "../errors.js";
import type { Manifest } from "../manifest/manifest.js";
import { readManifest } from "../manifest/manifest-reader.js";
import type { TopHash } from "../types.js";

/** Parsed manifests kept in memory; each may hold up to millions of entries, so few. */
const MEMORY_ENTRIES = 4;

export function hashMismatch(expected: string, actual: string, where: string): QuiltError {
  return new QuiltError("EHASHMISMATCH", `Manifest ${where} does not match its name: expected top hash ${expected}, computed ${actual}`, {
    hint: "the manifest was modified or corrupted; it is refused. Re-push the package or use another version",
  });
}

export class ManifestCache {
  private readonly memory = new LRUCache<string, Manifest>({ max: MEMORY_ENTRIES });

  /** `dir` is null to keep nothing on disk (tests, read-only environments). */
  constructor(readonly dir: string | null) {}

  /** A cached manifest, verified, or undefined when not cached (or the cached copy was bad). */
  async get(topHash: TopHash): Promise<Manifest | undefined> {
    const hit = this.memory.get(topHash);
    if (hit) return hit;
    if (this.dir === null) return undefined;
    const path = join(this.dir, topHash);
    let manifest: Manifest;
    try {
      manifest = await readManifest(createReadStream(path));
    } catch (err) {
      if (errnoCode(err) === "ENOENT") return undefined;
      if (isQuiltError(err, "EBADMANIFEST")) {
        await rm(path, { force: true });
        return undefined;
      }
      throw err;
    }
    if (manifest.topHash !== topHash) {
      await rm(path, { force: true });
      return undefined;
    }
    this.memory.set(topHash, manifest);
    return manifest;
  }

  /** Parses and verifies fetched bytes, then keeps them. Throws EHASHMISMATCH on a mismatch. */
  async put(topHash: TopHash, bytes: Buffer, where: string): Promise<Manifest> {
    const manifest = await readManifest([bytes]);
    if (manifest.topHash !== topHash) throw hashMismatch(topHash, manifest.topHash, where);
    this.memory.set(topHash, manifest);
    if (this.dir !== null) {
      await mkdir(this.dir, { recursive: true });
      const tmp = join(this.dir, `.${topHash}.${randomBytes(6).toString("hex")}.tmp`);
      await writeFile(tmp, bytes);
      await rename(tmp, join(this.dir, topHash));
    }
    return manifest;
  }
}
