// Fetches one entry's bytes into a local file, verified against the manifest hash before
// the file appears under its name: written to a temp name in the target directory, then
// renamed. Small objects come in one GET and go out in one write; large sha2-256-chunked
// objects as a few long parallel ranged GETs (fetch-parts.ts), hashed and written as they
// stream in, so nothing is read twice or copied whole.
import { copyFile, constants as fsConstants, open, rename, rm, stat, writeFile } from "node:fs/promises";
import { pipeline } from "node:stream/promises";
import { createWriteStream } from "node:fs";
import { tempPathFor } from "./download-temp.js";
import { fromOsError } from "../os-errors.js";
import { Transform } from "node:stream";
import {
  assertHashType,
  EntryHasher,
  hashFile,
  verifyHash,
  type EntryHash,
  type HashType,
} from "../manifest/checksums.js";
import { hashType, hashValue, type ManifestEntry } from "../manifest/manifest.js";
import type { Stores } from "../storage/stores.js";
import type { ByteRange, ObjectLocation, ObjectStore } from "../storage/object-store.js";
import type { Limiter } from "../limiter.js";
import { fetchChunkedParts } from "./fetch-parts.js";
import type { BlockCache } from "../cache/block-cache.js";
import type { ObjectSource } from "../storage/object-source.js";
import { cacheObjectForEntry, type CacheObject } from "../cache/content-key.js";
import { assertObjectSize, sizeMismatch } from "../storage/sized-source.js";

/**
 * Objects at least this large are fetched as parallel ranges (quilt3's multipart threshold);
 * smaller ones whole into memory, which bounds the buffers of one download at this size
 * times its transfer concurrency (128 MiB at 16).
 */
export const PARALLEL_FETCH_BYTES = 8 * 1024 * 1024;

export function expectedHash(entry: ManifestEntry): EntryHash {
  return { type: hashType(entry), value: hashValue(entry) };
}

export interface FetchOptions {
  /** Limits concurrent requests across every transfer of one operation. */
  requests: Limiter;
  /** The local data cache: an entry it holds whole is copied from it instead of downloaded. */
  cache?: BlockCache;
  onBytes?: (n: number) => void;
  signal?: AbortSignal;
}

/** Writes the entry to `dest` (replacing what is there) once its bytes match the manifest. */
export async function fetchEntryToFile(
  stores: Stores,
  entry: ManifestEntry,
  dest: string,
  opts: FetchOptions,
): Promise<void> {
  const tmp = tempPathFor(dest);
  try {
    const expected = expectedHash(entry);
    const type = assertHashType(expected.type);
    const { store, loc } = stores.forPhysicalKey(entry.physicalKey);
    // Held to the entry's size (sized-source.ts): an object of another size is refused.
    const src = stores.objectSource(entry.physicalKey, entry.size);
    let actual: EntryHash;
    const cached = opts.cache && entry.size > 0 ? cacheObjectForEntry(entry) : undefined;
    if (opts.cache && cached && (await opts.cache.holdsWhole(cached))) {
      actual = await copyFromCache(opts.cache, cached, entry, tmp, type, src);
      opts.onBytes?.(entry.size);
    } else if (entry.physicalKey.isLocal()) {
      // Local source: a copy (a reflink where the filesystem can), then hash the copy.
      await opts.requests.run(() => copyFile(entry.physicalKey.path, tmp, fsConstants.COPYFILE_FICLONE));
      const copied = (await stat(tmp)).size;
      if (copied !== entry.size) throw sizeMismatch(entry.physicalKey.toString(), entry.size, copied);
      actual = await hashFile(tmp, type);
      opts.onBytes?.(entry.size);
    } else if (entry.size < PARALLEL_FETCH_BYTES) {
      // One GET (retried whole if the connection drops mid-body) and one write: per file this
      // costs far less than a stream pipeline, and small files are where per-file cost shows.
      const bytes = await opts.requests.run(() => src.fetch({ start: 0, end: entry.size }, opts.signal));
      const hasher = new EntryHasher(type, entry.size);
      hasher.update(bytes);
      actual = await hasher.digest();
      await writeFile(tmp, bytes, { signal: opts.signal });
      opts.onBytes?.(bytes.length);
    } else {
      // A large object is fetched in ranges within the manifest's size, which cannot show that
      // the object is longer: one HEAD first, so that neither a longer nor a shorter one is read.
      await opts.requests.run(() => assertObjectSize(src));
      actual = await fetchLarge(store, loc, entry, tmp, type, opts);
    }
    verifyHash(expected, actual, `${entry.logicalKey} (${entry.physicalKey.toString()})`);
    await rename(tmp, dest).catch((err: unknown) => {
      throw fromOsError(err, { verb: "write", path: dest }) ?? err;
    });
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** An object of at least PARALLEL_FETCH_BYTES into `tmp`: ranged parts, or one hashed stream. */
async function fetchLarge(
  store: ObjectStore,
  loc: ObjectLocation,
  entry: ManifestEntry,
  tmp: string,
  type: HashType,
  opts: FetchOptions,
): Promise<EntryHash> {
  if (type === "sha2-256-chunked") {
    const fh = await open(tmp, "w");
    try {
      const getRange = (range: ByteRange) => store.getStream(loc, { range, signal: opts.signal });
      return {
        type,
        value: await fetchChunkedParts({
          what: entry.logicalKey,
          size: entry.size,
          fh,
          requests: opts.requests,
          getRange,
          onBytes: opts.onBytes,
        }),
      };
    } finally {
      await fh.close();
    }
  }
  const hasher = new EntryHasher(type, entry.size);
  const stream = await opts.requests.run(() => store.getStream(loc, { signal: opts.signal }));
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      try {
        hasher.update(chunk);
      } catch (err) {
        cb(err as Error);
        return;
      }
      opts.onBytes?.(chunk.length);
      cb(null, chunk);
    },
  });
  await pipeline(stream, tap, createWriteStream(tmp), { signal: opts.signal });
  return hasher.digest();
}

/** Bytes read from the cache per step when copying an entry out of it. */
const CACHE_COPY_BYTES = 8 * 1024 * 1024;

/** Copies a cached entry out of the cache; a block evicted meanwhile is simply fetched again. */
async function copyFromCache(
  cache: BlockCache,
  obj: CacheObject,
  entry: ManifestEntry,
  tmp: string,
  type: HashType,
  src: ObjectSource,
): Promise<EntryHash> {
  const hasher = new EntryHasher(type, entry.size);
  const fh = await open(tmp, "w");
  try {
    for (let pos = 0; pos < entry.size; pos += CACHE_COPY_BYTES) {
      const bytes = await cache.read(obj, pos, Math.min(CACHE_COPY_BYTES, entry.size - pos), src, {
        strict: true,
      });
      hasher.update(bytes);
      await fh.write(bytes, 0, bytes.length, pos);
    }
  } finally {
    await fh.close();
  }
  return hasher.digest();
}
