// Plants an impostor of a real package in another registry, for tests of what must never
// be trusted across registries: a manifest with the real package's top hash (same logical
// keys, hashes, sizes and metadata, which is all the top hash covers) whose physical keys
// point at other objects of the same sizes holding other bytes. Anyone who can write to
// some bucket or directory can do this, so caches keyed by top hash alone are poisonable.
// The manifest goes through the library's reader, serializer and Registry.pushManifest, so
// it is laid out exactly as quilt3 would write it (manifest, timestamp pointer, latest, tag).
import { createHash } from "node:crypto";
import { join } from "node:path";
import { assertHashType, hashBytes, isHashType } from "../../src/manifest/checksums.js";
import { hashType, hashValue, Manifest, type ManifestEntry } from "../../src/manifest/manifest.js";
import { readManifest } from "../../src/manifest/manifest-reader.js";
import { serializeManifest } from "../../src/manifest/manifest-writer.js";
import { PhysicalKey } from "../../src/manifest/physical-key.js";
import { parseRegistryUrl, type RegistryUrl } from "../../src/manifest/registry-url.js";
import type { ObjectStore } from "../../src/storage/object-store.js";
import { Registry } from "../../src/storage/registry.js";
import { manifestKey } from "../../src/storage/registry-layout.js";
import type { TopHash } from "../../src/types.js";

/** A registry (s3://bucket, file:///dir or a directory path) and the store that serves it. */
export interface RegistryAccess {
  registry: string;
  store: ObjectStore;
}

export interface ImpostorOptions {
  source: RegistryAccess;
  name: string;
  topHash: string;
  /** Where the impostor goes: its manifest, pointers and the substitute objects. */
  target: RegistryAccess & {
    /** Key prefix (S3) or subdirectory (local) of the substitute objects; default "impostor-data/<ns>/<name>". */
    dataPrefix?: string;
  };
  /** A named tag besides `latest` (and the timestamp pointer). */
  tag?: string;
  /** The substitute bytes of an entry; must be entry.size long. Default: pseudo-random bytes. */
  bytesFor?: (entry: ManifestEntry) => Buffer;
}

export interface Impostor {
  manifest: Manifest;
  /** The impostor's manifest file, as written. */
  manifestBytes: Buffer;
  /** Logical key to the substitute object: where it is and what it holds. */
  objects: Map<string, { physicalKey: PhysicalKey; bytes: Buffer }>;
}

/** Deterministic bytes unlike any real file's (sha256 in counter mode). */
function otherBytes(size: number, seed: string): Buffer {
  const out = Buffer.alloc(size);
  for (let offset = 0, i = 0; offset < size; i++, offset += 32)
    createHash("sha256").update(`impostor:${seed}:${i}`).digest().copy(out, offset);
  return out;
}

function fail(message: string): never {
  throw new Error(`impostor helper: ${message}`);
}

export async function plantImpostor(opts: ImpostorOptions): Promise<Impostor> {
  const sourceUrl = parseRegistryUrl(opts.source.registry);
  const targetUrl = parseRegistryUrl(opts.target.registry);
  // A memory-only cache: the helper must not leave anything in a cache the test inspects.
  const source = new Registry(sourceUrl, opts.source.store);
  const real = await source.loadManifest({ name: opts.name, topHash: opts.topHash as TopHash, layout: "v1" });
  if (real.topHash !== opts.topHash) fail(`source manifest hashes to ${real.topHash}, not ${opts.topHash}`);

  const prefix = (opts.target.dataPrefix ?? `impostor-data/${opts.name}`).replace(/^\/+|\/+$/g, "");
  const objects = new Map<string, { physicalKey: PhysicalKey; bytes: Buffer }>();
  const entries: ManifestEntry[] = [];
  for (const e of real.entries) {
    const bytes = opts.bytesFor?.(e) ?? otherBytes(e.size, `${opts.topHash}:${e.logicalKey}`);
    if (bytes.length !== e.size)
      fail(`substitute for ${e.logicalKey} is ${bytes.length} bytes, not ${e.size}`);
    await assertOtherContent(e, bytes);
    const physicalKey = await putObject(opts.target.store, targetUrl, `${prefix}/${e.logicalKey}`, bytes);
    objects.set(e.logicalKey, { physicalKey, bytes });
    // Spelled out: entries from the reader may be classes whose fields are getters.
    entries.push({ logicalKey: e.logicalKey, physicalKey, size: e.size, hash: e.hash, meta: e.meta });
  }
  const manifest = Manifest.create({ header: real.header, dirMeta: new Map(real.dirMeta), entries });
  if (manifest.topHash !== real.topHash) fail(`impostor hashes to ${manifest.topHash}, not ${real.topHash}`);
  for (const e of manifest.entries) {
    if (e.physicalKey.equals((real.get(e.logicalKey) as ManifestEntry).physicalKey))
      fail(`${e.logicalKey} still points at the real object`);
  }

  await new Registry(targetUrl, opts.target.store).pushManifest(opts.name, manifest, {
    ...(opts.tag !== undefined && { tag: opts.tag }),
  });
  // What a reader of the impostor registry will load: the same top hash, other physical keys.
  const manifestBytes = await opts.target.store.get({
    bucket: bucketOf(targetUrl),
    key: manifestKey("v1", opts.name, real.topHash),
  });
  if (!manifestBytes.equals(serializeManifest(manifest)))
    fail("the pushed manifest is not the serialized impostor");
  const reread = await readManifest([manifestBytes]);
  if (reread.topHash !== real.topHash)
    fail(`the written impostor hashes to ${reread.topHash}, not ${real.topHash}`);
  return { manifest, manifestBytes, objects };
}

/** Substitute bytes must differ from the real ones; only the empty file cannot. */
async function assertOtherContent(e: ManifestEntry, bytes: Buffer): Promise<void> {
  if (e.size === 0 || !isHashType(hashType(e))) return;
  const h = await hashBytes(bytes, assertHashType(hashType(e)));
  if (h.value.toLowerCase() === hashValue(e).toLowerCase())
    fail(`substitute for ${e.logicalKey} has the real content`);
}

function bucketOf(url: RegistryUrl): string {
  return url.kind === "s3" ? url.bucket : url.dir;
}

async function putObject(
  store: ObjectStore,
  url: RegistryUrl,
  key: string,
  bytes: Buffer,
): Promise<PhysicalKey> {
  const put = await store.put({ bucket: bucketOf(url), key }, bytes);
  return url.kind === "s3"
    ? PhysicalKey.s3(url.bucket, key, put.versionId ?? null)
    : PhysicalKey.local(join(url.dir, ...key.split("/")));
}
