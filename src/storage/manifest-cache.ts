// Manifests are immutable and named by their top hash, so each is fetched from its
// registry once and kept on local disk; a few parsed ones are also kept in memory.
//
// The top hash does not cover physical keys: anyone who can write to some registry (any
// bucket, any local directory) can publish a manifest with a real package's top hash whose
// entries point at other bytes. So a cached manifest is only ever used for the registry and
// package it was fetched for: one ManifestCache belongs to one registry, and its files live
// at `<root>/<sha256(registry identity)>/<ns>/<name>/<tophash>`. Each load recomputes the
// top hash and also checks the SHA-256 of the file's exact bytes against the sidecar
// `<tophash>.sha256` written with it, since the top hash alone would not notice a changed
// physical key. A file that fails either check is deleted and fetched again. Files of the
// old layout (`<root>/<tophash>`) are never read.
import { createHash, randomBytes } from "node:crypto";
import { closeSync, createReadStream, mkdirSync, openSync, write } from "node:fs";
import { mkdir, open, readFile, rename, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LRUCache } from "lru-cache";
import { QuiltError, errnoCode, isQuiltError } from "../errors.js";
import type { Manifest } from "../manifest/manifest.js";
import { readManifest } from "../manifest/manifest-reader.js";
import { isValidPackageName } from "../manifest/package-spec.js";
import { isTopHash, type TopHash } from "../types.js";

/** Parsed manifests kept in memory; each may hold up to millions of entries, so few. */
const MEMORY_ENTRIES = 4;
const SIDECAR = ".sha256";

export function hashMismatch(expected: string, actual: string, where: string): QuiltError {
  return new QuiltError(
    "EHASHMISMATCH",
    `Manifest ${where} does not match its name: expected top hash ${expected}, computed ${actual}`,
    {
      hint: "the manifest was modified or corrupted; it is refused. Re-push the package or use another version",
    },
  );
}

/** The directory name of a registry's manifests: hex sha256 of its identity (see Stores.registryIdentity). */
export function registryCacheId(identity: string): string {
  return createHash("sha256").update(identity, "utf8").digest("hex");
}

export class ManifestCache {
  private readonly memory = new LRUCache<string, Manifest>({ max: MEMORY_ENTRIES });
  /** This registry's directory, or null to keep nothing on disk (tests, read-only environments). */
  readonly dir: string | null;

  /**
   * `root` is the shared manifests directory (null: memory only); `registry` names the one
   * registry this cache serves, including anything that tells two same-named registries
   * apart (the S3 endpoint).
   */
  constructor(
    root: string | null,
    readonly registry: string,
  ) {
    this.dir = root === null ? null : join(root, registryCacheId(registry));
  }

  /** Where the manifest of `name` at `topHash` is kept (null without a disk cache). */
  pathOf(name: string, topHash: TopHash): string | null {
    checkNames(name, topHash);
    return this.dir === null ? null : join(this.dir, ...name.split("/"), topHash);
  }

  /** A cached manifest, verified, or undefined when not cached (or the cached copy was bad). */
  async get(name: string, topHash: TopHash): Promise<Manifest | undefined> {
    const hit = this.memory.get(memoryKey(name, topHash));
    if (hit) return hit;
    const file = await this.cachedFile(name, topHash);
    if (file === undefined) return undefined;
    const { path, sha256: expectedSha } = file;
    const sha = createHash("sha256");
    let manifest: Manifest;
    try {
      manifest = await readManifest(hashing(createReadStream(path), sha));
    } catch (err) {
      if (errnoCode(err) === "ENOENT") return undefined;
      if (isQuiltError(err, "EBADMANIFEST")) return this.drop(path);
      throw err;
    }
    if (sha.digest("hex") !== expectedSha || manifest.topHash !== topHash) return this.drop(path);
    this.memory.set(memoryKey(name, topHash), manifest);
    return manifest;
  }

  /**
   * The file of a cached manifest and the SHA-256 its bytes were written with, for a reader
   * that streams it (manifest-stream.ts, a manifest index build) and so checks both itself;
   * undefined when not cached.
   */
  async cachedFile(name: string, topHash: TopHash): Promise<{ path: string; sha256: string } | undefined> {
    const path = this.pathOf(name, topHash);
    if (path === null) return undefined;
    try {
      return { path, sha256: (await readFile(path + SIDECAR, "latin1")).trim() };
    } catch (err) {
      if (errnoCode(err) === "ENOENT") return undefined;
      throw err;
    }
  }

  /** Forgets a cached manifest whose bytes failed a streaming reader's check: it is fetched again. */
  async forget(name: string, topHash: TopHash): Promise<void> {
    this.memory.delete(memoryKey(name, topHash));
    const path = this.pathOf(name, topHash);
    if (path !== null) await this.drop(path);
  }

  /**
   * A file to stream fetched bytes into, for a reader that verifies them as they pass
   * (manifest-source.ts): `keep` puts it in place with its sidecar once the reader compared
   * the top hash, `discard` removes it. Null without a disk cache.
   */
  async incoming(name: string, topHash: TopHash): Promise<IncomingManifest | null> {
    const path = this.pathOf(name, topHash);
    if (path === null) return null;
    const dir = join(path, "..");
    await mkdir(dir, { recursive: true, mode: 0o700 }); // private when created (src/private-dir.ts)
    const tmp = join(dir, `.${randomBytes(6).toString("hex")}.tmp`);
    const file = await open(tmp, "wx");
    const sha = createHash("sha256");
    // A write that fails (a full disk) leaves the cache unfilled and the reader unharmed.
    let failed = false;
    const discard = async (): Promise<void> => {
      await file.close().catch(() => undefined);
      await rm(tmp, { force: true });
    };
    return {
      write: async (chunk) => {
        if (failed) return;
        sha.update(chunk);
        await file.write(chunk).catch(() => (failed = true));
      },
      keep: async () => {
        if (failed) return discard();
        await file.close();
        await rename(tmp, path);
        await writeAtomic(path + SIDECAR, Buffer.from(sha.digest("hex"), "latin1"));
      },
      discard,
    };
  }

  /**
   * Where to write a manifest that adopt() will keep: a directory of the cache (a rename
   * moves it into place), or the system's temporary directory without a disk cache.
   */
  async scratchDir(name: string, topHash: TopHash): Promise<string> {
    const path = this.pathOf(name, topHash);
    if (path === null) return tmpdir();
    const dir = join(path, "..");
    await mkdir(dir, { recursive: true, mode: 0o700 }); // private when created (src/private-dir.ts)
    return dir;
  }

  /**
   * Keeps a manifest this process wrote and verified as written (manifest-file.ts): its file
   * is moved into place with its sidecar, and the manifest itself is kept in memory.
   */
  async adopt(
    name: string,
    topHash: TopHash,
    manifest: Manifest,
    file: { path: string; sha256: string },
  ): Promise<void> {
    this.memory.set(memoryKey(name, topHash), manifest);
    const path = this.pathOf(name, topHash);
    if (path === null) return;
    await rename(file.path, path);
    await writeAtomic(path + SIDECAR, Buffer.from(file.sha256, "latin1"));
  }

  /** Parses and verifies fetched bytes, then keeps them. Throws EHASHMISMATCH on a mismatch. */
  async put(name: string, topHash: TopHash, bytes: Buffer, where: string): Promise<Manifest> {
    const path = this.pathOf(name, topHash);
    const manifest = await readManifest([bytes]);
    if (manifest.topHash !== topHash) throw hashMismatch(topHash, manifest.topHash, where);
    this.memory.set(memoryKey(name, topHash), manifest);
    if (path !== null)
      await this.keep(name, topHash, bytes, createHash("sha256").update(bytes).digest("hex"));
    return manifest;
  }

  /**
   * Keeps fetched bytes whose top hash the caller verified (without parsing them again),
   * with their SHA-256 for the sidecar.
   */
  async keep(name: string, topHash: TopHash, bytes: Uint8Array, sha256: string): Promise<void> {
    const path = this.pathOf(name, topHash);
    if (path !== null) await startKeepingManifest(path, bytes).keep(sha256);
  }

  private async drop(path: string): Promise<undefined> {
    await rm(path, { force: true });
    await rm(path + SIDECAR, { force: true });
    return undefined;
  }
}

/**
 * A fetched manifest's bytes being written at `path` (ManifestCache.pathOf) while the caller
 * verifies them, for a writer that holds the bytes but not the cache (a manifest index
 * build's worker): the disk write (a quarter of a second or more for a million entries) runs
 * on libuv's thread pool during the parse instead of after it. It is only a temporary file
 * until `keep`, called once the bytes are verified, makes it the cached file (its sidecar
 * last: a reader that sees one without the other finds a mismatch and refetches, never a
 * wrong manifest); `drop` removes it.
 */
export interface PendingManifestFile {
  keep(sha256: string): Promise<void>;
  drop(): Promise<void>;
}

export function startKeepingManifest(path: string, bytes: Uint8Array): PendingManifestFile {
  const written = writeTemp(path, bytes);
  written.catch(() => undefined); // awaited by keep or drop
  return {
    keep: async (sha256) => {
      await rename(await written, path);
      await writeAtomic(path + SIDECAR, Buffer.from(sha256, "latin1"));
    },
    drop: async () => {
      const tmp = await written.catch(() => undefined);
      if (tmp !== undefined) await rm(tmp, { force: true });
    },
  };
}

export interface IncomingManifest {
  write(chunk: Buffer): Promise<void>;
  keep(): Promise<void>;
  discard(): Promise<void>;
}

function memoryKey(name: string, topHash: TopHash): string {
  return `${name}\n${topHash}`;
}

/** Names become path components, so only valid ones are accepted (no `..`, no separators). */
function checkNames(name: string, topHash: string): void {
  if (!isValidPackageName(name))
    throw new QuiltError("EBADSPEC", `Invalid package name ${JSON.stringify(name)}`, {
      hint: "a package name is namespace/name",
    });
  if (!isTopHash(topHash))
    throw new QuiltError("EBADSPEC", `Invalid top hash ${JSON.stringify(topHash)}`, {
      hint: "a top hash is 64 lowercase hex characters",
    });
}

export async function* hashing(
  source: AsyncIterable<Buffer>,
  sha: ReturnType<typeof createHash>,
): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    sha.update(chunk);
    yield chunk;
  }
}

async function writeAtomic(path: string, bytes: Uint8Array): Promise<void> {
  await rename(await writeTemp(path, bytes), path);
}

/** One write request for what is left of `bytes` from `at`: the bytes it wrote. */
function writeSome(fd: number, bytes: Uint8Array, at: number): Promise<number> {
  return new Promise((resolve, reject) =>
    write(fd, bytes, at, bytes.length - at, null, (err, n) => (err ? reject(err) : resolve(n))),
  );
}

/**
 * Writes `bytes` to a new temporary file beside `path`; resolves to its path. The file is
 * opened at once and the bytes handed to the thread pool in one request, so the write goes
 * on while the caller's thread computes without turning the event loop (writeFile would
 * write 512 KiB per turn).
 */
function writeTemp(path: string, bytes: Uint8Array): Promise<string> {
  const dir = join(path, "..");
  const tmp = join(dir, `.${randomBytes(6).toString("hex")}.tmp`);
  let fd: number;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 }); // private when created (src/private-dir.ts)
    fd = openSync(tmp, "w");
  } catch (err) {
    return Promise.reject(err as Error);
  }
  return (async () => {
    try {
      for (let at = 0; at < bytes.length;) at += await writeSome(fd, bytes, at);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    } finally {
      closeSync(fd);
    }
    return tmp;
  })();
}
