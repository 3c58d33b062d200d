// Indexes a version straight from its manifest's bytes in one pass (manifest-index-writer.ts):
// each line is parsed, added to the top hash and written to the index as it is read, and the
// version becomes visible (its header record) only once the top hash matched. Run in a
// worker thread (manifest-index-worker.ts) by `buildInWorker`, so a million-entry parse
// neither blocks the daemon nor leaves its garbage in the daemon's heap.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { QuiltError } from "../errors.js";
import type { JsonValue } from "../manifest/json-value.js";
import { compareLogicalKeys } from "../manifest/logical-key.js";
import { userMeta } from "../manifest/manifest.js";
import { readManifest, readManifestLineBatches } from "../manifest/manifest-reader.js";
import { TopHasher } from "../manifest/top-hash.js";
import { deserializeError, startWorker, type SerializedError } from "../worker-spec.js";
import { hashMismatch, startKeepingManifest } from "./manifest-cache.js";
import type { ManifestIndex } from "./manifest-index.js";
import type { VersionId } from "./manifest-index-keys.js";
import type { VersionHeader } from "./manifest-index-records.js";

/**
 * A manifest's bytes: fetched (`where` names them in errors; kept at `keepAt` in the manifest
 * cache once verified), or a cached file that must have `sha256`.
 */
export type IndexBuildSource =
  { bytes: Uint8Array; where: string; keepAt?: string | null } | { path: string; sha256: string };

export interface BuildResult {
  header: VersionHeader;
  /** SHA-256 of the manifest's bytes (for the manifest cache's sidecar). */
  sha256: string;
}

/** Chunks fed to the line splitter: a fetched manifest is read in slices, not decoded whole. */
const CHUNK_BYTES = 1 << 20;

function* slices(bytes: Uint8Array): Generator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += CHUNK_BYTES) yield bytes.subarray(at, at + CHUNK_BYTES);
}

function chunks(source: IndexBuildSource): AsyncIterable<Uint8Array> | Iterable<Uint8Array> {
  return "bytes" in source
    ? slices(source.bytes)
    : createReadStream(source.path, { highWaterMark: CHUNK_BYTES });
}

async function* hashed(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  sha: ReturnType<typeof createHash>,
): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    sha.update(chunk);
    yield chunk;
  }
}

function changedCacheFile(path: string): QuiltError {
  return new QuiltError("EHASHMISMATCH", `The cached manifest ${path} does not match its checksum`, {
    hint: "it is fetched again from the registry",
  });
}

/**
 * Indexes version `id` from its manifest, verifying the top hash (and a cached file's
 * SHA-256) as it reads. Throws EHASHMISMATCH, or EBADMANIFEST for a malformed manifest,
 * leaving nothing of the version visible.
 */
export async function buildFromSource(
  index: ManifestIndex,
  id: VersionId,
  source: IndexBuildSource,
): Promise<BuildResult> {
  const w = index.writer(id);
  // Fetched bytes go to the manifest cache while they are parsed; kept only once verified.
  const keeping =
    "bytes" in source && source.keepAt ? startKeepingManifest(source.keepAt, source.bytes) : undefined;
  try {
    const sha = createHash("sha256");
    let hasher: TopHasher | undefined;
    let meta: JsonValue = new Map();
    let prev: string | undefined;
    let sorted = true;
    for await (const batch of readManifestLineBatches(hashed(chunks(source), sha))) {
      for (const l of batch) {
        if (l.kind === "header") {
          hasher = new TopHasher(l.header);
          meta = userMeta(l.header);
        } else if (l.kind === "dirMeta") w.addDirMeta(l.key, l.meta);
        else {
          const key = l.entry.logicalKey;
          if (prev !== undefined && compareLogicalKeys(prev, key) > 0) sorted = false;
          prev = key;
          if (sorted) hasher?.add(l.entry);
          w.add(l.entry, l.line, l.text);
        }
      }
    }
    const sha256 = sha.digest("hex");
    if ("path" in source && sha256 !== source.sha256) throw changedCacheFile(source.path);
    w.check();
    // Lines out of walk order (no writer of ours or quilt3's makes them) are hashed in walk
    // order, from the whole manifest read again.
    const topHash = sorted && hasher ? hasher.digest() : (await readManifest(chunks(source))).topHash;
    if (topHash !== id.topHash)
      throw hashMismatch(id.topHash, topHash, "path" in source ? source.path : source.where);
    const header = w.finish({ userMeta: meta });
    await keeping?.keep(sha256);
    return { header, sha256 };
  } catch (err) {
    w.abandon();
    await keeping?.drop();
    throw err;
  }
}

/**
 * The build's young generation, twice V8's default (semi-spaces of 32 MiB): the build makes
 * gigabytes of short-lived strings, and with room for more of them between collections each
 * finds fewer still alive to copy (a million-entry build 5-10% less CPU here, peak RSS no higher).
 */
const YOUNG_GENERATION_MB = 96;

export type IndexBuildRequest = { dir: string; id: VersionId; source: IndexBuildSource };
export type IndexBuildReply =
  { ok: true; result: BuildResult; bytes?: Uint8Array } | { ok: false; error: SerializedError };

/** Moves a whole buffer to another thread; a view into a larger one is copied (the list is empty). */
function transferable(bytes: Uint8Array | undefined): ArrayBuffer[] {
  return bytes !== undefined && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
    ? [bytes.buffer as ArrayBuffer]
    : [];
}

/**
 * `buildFromSource` in a worker thread of its own, which exits with its heap when done. A
 * fetched manifest's bytes are moved to the worker, not copied, and end there: a daemon
 * whose heap stays small might not collect a few hundred MB of them for a long while.
 */
export async function buildInWorker(
  index: ManifestIndex,
  id: VersionId,
  source: IndexBuildSource,
): Promise<BuildResult> {
  const worker = startWorker(import.meta.url, "manifest-index-worker", {
    resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
  });
  try {
    const reply = await new Promise<IndexBuildReply>((resolve, reject) => {
      worker.once("message", resolve);
      worker.once("error", reject);
      worker.once("exit", (code) =>
        reject(new QuiltError("EINTERNAL", `The manifest index build exited (${code})`)),
      );
      const request: IndexBuildRequest = { dir: index.dir, id, source };
      worker.postMessage(request, transferable("bytes" in source ? source.bytes : undefined));
    });
    if (!reply.ok) throw deserializeError(reply.error);
    index.builds++;
    return reply.result;
  } finally {
    await worker.terminate();
  }
}
