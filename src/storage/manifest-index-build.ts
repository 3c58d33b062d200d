// Indexes a version straight from its manifest's bytes in one pass (manifest-index-writer.ts):
// the bytes are cut into segments of whole lines, parsed on parse workers
// (manifest-index-parsers.ts; in this thread for a small manifest), and each segment's
// entries are added to the top hash and written to the index in the manifest's order as
// they come back; the version becomes visible (its header record) only once the top hash
// matched. Run in a worker thread (manifest-index-worker.ts) by `buildInWorker`, so a
// million-entry parse neither blocks the daemon nor leaves its garbage in the daemon's heap.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { QuiltError } from "../errors.js";
import { compareLogicalKeys } from "../manifest/logical-key.js";
import { userMeta } from "../manifest/manifest.js";
import { splitLineRuns } from "../manifest/lines.js";
import { ManifestLineParser, readManifest } from "../manifest/manifest-reader.js";
import { TopHasher } from "../manifest/top-hash.js";
import { deserializeError, startWorker, transferable, type SerializedError } from "../worker-spec.js";
import { hashMismatch, startKeepingManifest } from "./manifest-cache.js";
import type { ManifestIndex } from "./manifest-index.js";
import type { VersionId } from "./manifest-index-keys.js";
import type { VersionHeader } from "./manifest-index-records.js";
import { defaultParseThreads, SegmentParsers } from "./manifest-index-parsers.js";
import { parseSegment, type ParsedSegment } from "./manifest-index-segment.js";

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
  /** Parse workers it used (0: it parsed in its own thread). */
  parseThreads: number;
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

/** How a build parses: segments of at least `segmentBytes`, on `threads` parse workers (0: in its own thread). */
export interface BuildOptions {
  threads?: number;
  segmentBytes?: number;
}

/** Segments of about 4 MiB: a few dozen for a million entries, each small in a worker's heap. */
const SEGMENT_BYTES = 4 << 20;

function sourceBytes(source: IndexBuildSource): Promise<number> {
  return "bytes" in source ? Promise.resolve(source.bytes.length) : stat(source.path).then((s) => s.size);
}

/** Parse workers for a build: none for a manifest of one or two segments (starting them would cost more). */
async function parseThreads(source: IndexBuildSource, options: BuildOptions): Promise<number> {
  const segmentBytes = options.segmentBytes ?? SEGMENT_BYTES;
  return (await sourceBytes(source)) > 2 * segmentBytes ? (options.threads ?? defaultParseThreads()) : 0;
}

/** Where the build's parsed segments come from, in the manifest's order, parsed on `threads` workers. */
async function* parsedSegments(
  source: IndexBuildSource,
  sha: ReturnType<typeof createHash>,
  options: BuildOptions,
  threads: number,
): AsyncGenerator<ParsedSegment> {
  const runs = splitLineRuns(hashed(chunks(source), sha), options.segmentBytes ?? SEGMENT_BYTES);
  if (threads === 0) {
    for await (const { bytes, first } of runs) yield parseSegment(bytes, first);
    return;
  }
  const parsers = new SegmentParsers(threads);
  const pending: Promise<ParsedSegment>[] = [];
  try {
    for await (const { bytes, first } of runs) {
      const parsed = parsers.parse(bytes, first);
      parsed.catch(() => undefined); // awaited in order below; a failure must not go unhandled meanwhile
      pending.push(parsed);
      // A few segments ahead per worker keeps them busy without reading the whole manifest ahead.
      if (pending.length > 2 * threads) yield await (pending.shift() as Promise<ParsedSegment>);
    }
    for (const parsed of pending) yield await parsed;
  } finally {
    await parsers.close();
  }
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
  options: BuildOptions = {},
): Promise<BuildResult> {
  const w = index.writer(id);
  // Fetched bytes go to the manifest cache while they are parsed; kept only once verified.
  const keeping =
    "bytes" in source && source.keepAt ? startKeepingManifest(source.keepAt, source.bytes) : undefined;
  try {
    const sha = createHash("sha256");
    // The header and directory-metadata lines, few, are parsed again here into their model.
    const parser = new ManifestLineParser();
    let hasher: TopHasher | undefined;
    let last: string | undefined;
    let sorted = true;
    const threads = await parseThreads(source, options);
    for await (const segment of parsedSegments(source, sha, options, threads)) {
      if (segment.header !== undefined) {
        parser.parse(segment.header, 1);
        hasher = new TopHasher(parser.finish());
      }
      if (segment.error) throw deserializeError(segment.error);
      for (const [line, text] of segment.dirMeta) parser.parse(text, line);
      const first = segment.keys[0];
      if (first !== undefined) {
        if (!segment.sorted || (last !== undefined && compareLogicalKeys(last, first) > 0)) sorted = false;
        last = segment.keys[segment.keys.length - 1];
        if (sorted) hasher?.addParts(segment.canonical);
        w.addParsed(segment);
      }
    }
    const header = parser.finish();
    for (const [key, meta] of parser.dirMeta) w.addDirMeta(key, meta);
    const sha256 = sha.digest("hex");
    if ("path" in source && sha256 !== source.sha256) throw changedCacheFile(source.path);
    w.check();
    // Lines out of walk order (no writer of ours or quilt3's makes them) are hashed in walk
    // order, from the whole manifest read again.
    const topHash = sorted && hasher ? hasher.digest() : (await readManifest(chunks(source))).topHash;
    if (topHash !== id.topHash)
      throw hashMismatch(id.topHash, topHash, "path" in source ? source.path : source.where);
    const result = w.finish({ userMeta: userMeta(header) });
    await keeping?.keep(sha256);
    return { header: result, sha256, parseThreads: threads };
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

export type IndexBuildRequest = {
  dir: string;
  id: VersionId;
  source: IndexBuildSource;
  options: BuildOptions;
};
export type IndexBuildReply =
  { ok: true; result: BuildResult; bytes?: Uint8Array } | { ok: false; error: SerializedError };

/**
 * `buildFromSource` in a worker thread of its own, which exits with its heap when done. A
 * fetched manifest's bytes are moved to the worker, not copied, and end there: a daemon
 * whose heap stays small might not collect a few hundred MB of them for a long while.
 */
export async function buildInWorker(
  index: ManifestIndex,
  id: VersionId,
  source: IndexBuildSource,
  options: BuildOptions = {},
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
      const request: IndexBuildRequest = { dir: index.dir, id, source, options };
      worker.postMessage(request, transferable("bytes" in source ? source.bytes : undefined));
    });
    if (!reply.ok) throw deserializeError(reply.error);
    index.builds++;
    return reply.result;
  } finally {
    await worker.terminate();
  }
}
