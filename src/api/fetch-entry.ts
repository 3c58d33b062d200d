// Fetches one entry's bytes into a local file, verified against the manifest hash before
// the file appears under its name: written to a temp name in the target directory, then
// renamed. Large sha2-256-chunked objects are fetched as parallel ranged GETs aligned to
// the hash's chunks, so each part is hashed as it arrives and nothing is read twice.
import { createHash, randomBytes } from "node:crypto";
import { copyFile, constants as fsConstants, open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { pipeline } from "node:stream/promises";
import { createWriteStream } from "node:fs";
import { Transform } from "node:stream";
import { QuiltError } from "../errors.js";
import { assertHashType, chunkSizeFor, combineChunkDigests, EntryHasher, hashFile, verifyHash, type EntryHash, type HashType } from "../manifest/checksums.js";
import { hashType, hashValue, type ManifestEntry } from "../manifest/manifest.js";
import type { Stores } from "../storage/stores.js";
import type { Limiter } from "./limit.js";
import type { BlockCache, BlockFetcher } from "../cache/block-cache.js";
import { cacheObjectForEntry, type CacheObject } from "../cache/content-key.js";

/** Objects at least this large are fetched as parallel ranges (quilt3's multipart threshold). */
export const PARALLEL_FETCH_BYTES = 8 * 1024 * 1024;

export function expectedHash(entry: ManifestEntry): EntryHash {
  return { type: hashType(entry), value: hashValue(entry) };
}

function tempPathFor(dest: string): string {
  return join(dirname(dest), `.${basename(dest)}.${randomBytes(6).toString("hex")}.quilt-tmp`);
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
export async function fetchEntryToFile(stores: Stores, entry: ManifestEntry, dest: string, opts: FetchOptions): Promise<void> {
  const tmp = tempPathFor(dest);
  try {
    const expected = expectedHash(entry);
    const type = assertHashType(expected.type);
    const { store, loc } = stores.forPhysicalKey(entry.physicalKey);
    let actual: EntryHash;
    const cached = opts.cache && entry.size > 0 ? cacheObjectForEntry(entry) : undefined;
    if (opts.cache && cached && opts.cache.isComplete(cached)) {
      actual = await copyFromCache(opts.cache, cached, entry, tmp, type, stores.rangeFetcher(entry.physicalKey));
      opts.onBytes?.(entry.size);
    } else if (entry.physicalKey.isLocal()) {
      // Local source: a copy (a reflink where the filesystem can), then hash the copy.
      await opts.requests.run(() => copyFile(entry.physicalKey.path, tmp, fsConstants.COPYFILE_FICLONE));
      actual = await hashFile(tmp, type);
      opts.onBytes?.(entry.size);
    } else if (type === "sha2-256-chunked" && entry.size >= PARALLEL_FETCH_BYTES) {
      actual = { type, value: await fetchChunked(entry, tmp, opts, (range) => store.get(loc, { range, signal: opts.signal })) };
    } else {
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
      actual = await hasher.digest();
    }
    verifyHash(expected, actual, `${entry.logicalKey} (${entry.physicalKey.toString()})`);
    await rename(tmp, dest);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** Bytes read from the cache per step when copying an entry out of it. */
const CACHE_COPY_BYTES = 8 * 1024 * 1024;

/** Copies a cached entry out of the cache; a block evicted meanwhile is simply fetched again. */
async function copyFromCache(cache: BlockCache, obj: CacheObject, entry: ManifestEntry, tmp: string, type: HashType, fetch: BlockFetcher): Promise<EntryHash> {
  const hasher = new EntryHasher(type, entry.size);
  const fh = await open(tmp, "w");
  try {
    for (let pos = 0; pos < entry.size; pos += CACHE_COPY_BYTES) {
      const bytes = await cache.read(obj, pos, Math.min(CACHE_COPY_BYTES, entry.size - pos), fetch);
      hasher.update(bytes);
      await fh.write(bytes, 0, bytes.length, pos);
    }
  } finally {
    await fh.close();
  }
  return hasher.digest();
}

async function fetchChunked(
  entry: ManifestEntry,
  tmp: string,
  opts: FetchOptions,
  getRange: (range: { start: number; end: number }) => Promise<Buffer>,
): Promise<string> {
  const chunk = chunkSizeFor(entry.size);
  const count = Math.ceil(entry.size / chunk);
  const digests = Buffer.alloc(count * 32);
  const fh = await open(tmp, "w");
  try {
    await Promise.all(
      Array.from({ length: count }, (_, i) =>
        opts.requests.run(async () => {
          const start = i * chunk;
          const end = Math.min(entry.size, start + chunk);
          const bytes = await getRange({ start, end });
          if (bytes.length !== end - start) {
            throw new QuiltError("EHASHMISMATCH", `${entry.logicalKey}: expected ${end - start} bytes at offset ${start}, got ${bytes.length}`);
          }
          createHash("sha256").update(bytes).digest().copy(digests, i * 32);
          await fh.write(bytes, 0, bytes.length, start);
          opts.onBytes?.(bytes.length);
        }),
      ),
    );
  } finally {
    await fh.close();
  }
  return combineChunkDigests(digests);
}
