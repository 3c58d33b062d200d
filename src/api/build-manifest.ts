// Turns a builder's entries into a Manifest: entries from packages keep their hash; local
// files are hashed on both cores; S3 objects take their hash from S3's SHA-256 checksum
// when it determines the quilt hash, else are hashed by streaming them once.
import { createHash } from "node:crypto";
import { QuiltError } from "../errors.js";
import { stat } from "node:fs/promises";
import {
  DEFAULT_HASH_TYPE,
  BASE_CHUNK_BYTES,
  hashBytes,
  hashStream,
  type EntryHash,
} from "../manifest/checksums.js";
import { hashFiles } from "../manifest/hash-pool.js";
import { fromPlain, type JsonObject, type JsonValue } from "../manifest/json-value.js";
import { Manifest, type ManifestEntry } from "../manifest/manifest.js";
import type { Stores } from "../storage/stores.js";
import type { LogicalKey } from "../types.js";
import type { BuilderEntry } from "./builder-sources.js";
import { forEachLimited } from "../limiter.js";

/** Objects hashed by streaming at once. */
const STREAM_HASH_CONCURRENCY = 8;

function hashObject(h: EntryHash): JsonObject {
  return fromPlain({ type: h.type, value: h.value }) as JsonObject;
}

/**
 * sha2-256-chunked from S3's full-object SHA-256: exact for a single chunk (under 8 MiB),
 * where the quilt hash is sha256 of that digest. Larger objects need per-chunk digests.
 */
export function chunkedFromS3Checksum(
  size: number,
  checksumSha256: string | undefined,
): EntryHash | undefined {
  if (checksumSha256 === undefined || size === 0 || size > BASE_CHUNK_BYTES) return undefined;
  const digest = Buffer.from(checksumSha256, "base64");
  if (digest.length !== 32) return undefined;
  return { type: "sha2-256-chunked", value: createHash("sha256").update(digest).digest("base64") };
}

export interface BuildProgress {
  filesHashed: number;
  filesToHash: number;
}

export async function buildManifest(
  stores: Stores,
  header: JsonObject,
  dirMeta: Map<string, JsonValue>,
  entries: BuilderEntry[],
  onProgress?: (p: BuildProgress) => void,
): Promise<{ manifest: Manifest; hashed: BuilderEntry[] }> {
  const done = entries.map((e) => ({ ...e }));
  const unhashed = (e: BuilderEntry) => !e.hash || e.size === undefined;
  const local = done.filter((e) => unhashed(e) && e.source.isLocal());
  const remote = done.filter((e) => unhashed(e) && !e.source.isLocal());
  const total = local.length + remote.length;
  let hashedCount = 0;
  const tick = () => onProgress?.({ filesHashed: ++hashedCount, filesToHash: total });
  if (local.length > 0) {
    const results = await hashFiles(
      local.map((e) => e.source.path),
      DEFAULT_HASH_TYPE,
      { onProgress: (p) => onProgress?.({ filesHashed: p.filesDone, filesToHash: total }) },
    );
    local.forEach((e, i) => {
      const r = results[i] as { hash: EntryHash; size: number };
      e.hash = hashObject(r.hash);
      e.size = r.size;
    });
    hashedCount = local.length;
  }
  await forEachLimited(remote, STREAM_HASH_CONCURRENCY, async (e) => {
    const { store, loc } = stores.forPhysicalKey(e.source);
    const size = e.size ?? (await store.head(loc)).size;
    e.size = size;
    const derived =
      size === 0 ? await hashBytes(Buffer.alloc(0)) : chunkedFromS3Checksum(size, e.checksumSha256);
    e.hash = hashObject(derived ?? (await hashStream(await store.getStream(loc), size)));
    tick();
  });
  // A local file that changed size since it was hashed would make a wrong manifest.
  for (const e of local) {
    if ((await stat(e.source.path)).size !== e.size) {
      throw new QuiltError("ESTALE", `${e.source.path} changed while the manifest was being built`, {
        hint: "build again once nothing writes to it",
      });
    }
  }
  return { manifest: manifestFromHashed(header, dirMeta, done), hashed: done };
}

/**
 * The header as a manifest carries it: with a "message", null when none was set. A builder
 * adds "message" where quilt3 does (when set, else at push, after "workflow"), so that the
 * header's keys come out in quilt3's order; a manifest built before that has it last.
 */
export function headerWithMessage(header: JsonObject): JsonObject {
  return header.has("message") ? header : new Map([...header, ["message", null]]);
}

/** The manifest of entries that all have a size and a hash. */
export function manifestFromHashed(
  header: JsonObject,
  dirMeta: Map<string, JsonValue>,
  entries: BuilderEntry[],
): Manifest {
  const manifestEntries: ManifestEntry[] = entries.map((e) => {
    if (e.size === undefined || !e.hash) throw new Error(`internal: ${e.logicalKey} was not hashed`);
    return {
      logicalKey: e.logicalKey as LogicalKey,
      physicalKey: e.source,
      size: e.size,
      hash: e.hash,
      meta: e.meta,
    };
  });
  return Manifest.create({ header, dirMeta, entries: manifestEntries });
}
