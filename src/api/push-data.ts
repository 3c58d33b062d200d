// Pushes a builder's data into its registry under <prefix>/<logical key>: local files are
// uploaded, objects elsewhere copied (unless only local files are asked for), and any
// destination that already holds the same bytes is kept ("data exists, skipping"). Every
// pushed entry then points at the new object, pinned to its version.
import { createWriteStream } from "node:fs";
import { mkdir, mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pipeline } from "node:stream/promises";
import {
  BASE_CHUNK_BYTES,
  chunkSizeFor,
  hashBytes,
  hashFile,
  hashFileSized,
  type EntryHash,
  type HashType,
} from "../manifest/checksums.js";
import { fromPlain, type JsonObject } from "../manifest/json-value.js";
import { PhysicalKey } from "../manifest/physical-key.js";
import type { Registry } from "../storage/registry.js";
import type { ObjectHead, ObjectLocation, ObjectStore, PutResult } from "../storage/object-store.js";
import type { Stores } from "../storage/stores.js";
import { randomBytes } from "node:crypto";
import { isQuiltError, QuiltError } from "../errors.js";
import { compareLogicalKeys } from "../manifest/logical-key.js";
import type { BuilderEntry } from "./builder-sources.js";
import { chunkedFromS3Checksum } from "./build-manifest.js";
import { forEachLimited } from "../limiter.js";
import { DEFAULT_TRANSFER_CONCURRENCY, type TransferProgress } from "./download.js";

export interface PushDataOptions {
  /** Key prefix in the registry bucket (leading and trailing "/" ignored); default the package name. */
  prefix?: string;
  /** Upload local files only; leave entries that point at S3 objects where they are. */
  localFilesOnly?: boolean;
  /**
   * Which entries to copy (quilt3's `selector_fn`); the others keep their physical keys.
   * A local file left out stays a local pointer, which pushManifest then refuses.
   */
  select?: (entry: PushCandidate) => boolean;
  concurrency?: number;
  onProgress?: (p: TransferProgress) => void;
}

/** What a `select` function sees of an entry. */
export interface PushCandidate {
  logicalKey: string;
  /** Where the bytes are now: s3://bucket/key?versionId=... or file:///path. */
  physicalKey: string;
  size: number | undefined;
}

export type PushOutcome = "uploaded" | "copied" | "skipped" | "in-place";

export interface PushedEntry {
  entry: BuilderEntry;
  from: PhysicalKey;
  outcome: PushOutcome;
}

export function normalizePrefix(prefix: string): string {
  const p = prefix.replace(/^\/+|\/+$/g, "");
  return p === "" ? "" : p + "/";
}

function destKey(registry: Registry, prefix: string, key: string): PhysicalKey {
  const path = prefix + key;
  return registry.url.kind === "s3"
    ? PhysicalKey.s3(registry.url.bucket, path)
    : PhysicalKey.local(`${registry.url.dir}/${path}`);
}

/** The entry's hash, computing it for a local file that was not hashed yet. */
async function entryHash(stores: Stores, e: BuilderEntry): Promise<EntryHash | undefined> {
  const type = e.hash?.get("type");
  const value = e.hash?.get("value");
  if (typeof type === "string" && typeof value === "string") return { type, value };
  if (e.source.isLocal()) {
    const { hash, size } = await hashFileSized(e.source.path);
    e.hash = fromPlain(hash) as JsonObject;
    e.size = size;
    return hash;
  }
  return undefined;
}

/** The sha2-256-chunked hash of what is at the destination, when it can be known cheaply. */
async function destinationHash(
  store: ObjectStore,
  dest: PhysicalKey,
  head: ObjectHead,
): Promise<EntryHash | undefined> {
  if (dest.isLocal()) return hashFile(dest.path);
  if (head.size === 0) return hashBytes(Buffer.alloc(0));
  if (head.size <= BASE_CHUNK_BYTES) return chunkedFromS3Checksum(head.size, head.checksumSha256);
  return head.compositeSha256 !== undefined
    ? { type: "sha2-256-chunked", value: head.compositeSha256 }
    : undefined;
}

/** Objects at least this large are copied between stores through a temporary file, not memory. */
const SPOOL_BYTES = 8 * 1024 * 1024;

async function copyBetweenStores(
  from: ObjectStore,
  src: ObjectLocation,
  to: ObjectStore,
  dst: ObjectLocation,
  size: number | undefined,
  spoolDir: string,
): Promise<PutResult> {
  if (size !== undefined && size < SPOOL_BYTES) return to.put(dst, await from.get(src));
  await mkdir(spoolDir, { recursive: true, mode: 0o700 });
  const dir = await mkdtemp(join(spoolDir, ".quilt-push-"));
  try {
    const path = join(dir, "object");
    await pipeline(await from.getStream(src), createWriteStream(path));
    return await to.put(dst, { path });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Where bytes go when their natural destination holds other bytes and cannot keep both. */
export const VERSIONS_DIR = ".quilt-versions";

function hashToken(h: EntryHash): string {
  return Buffer.from(h.value, /^[0-9a-f]+$/i.test(h.value) ? "hex" : "base64")
    .toString("hex")
    .slice(0, 32);
}

/** S3 with versioning keeps old bytes under their versionId; a local directory or an unversioned bucket does not. */
function isVersioned(dest: PhysicalKey, head: ObjectHead): boolean {
  return !dest.isLocal() && head.versionId !== undefined && head.versionId !== "null";
}

async function sameBytesAt(
  store: ObjectStore,
  stores: Stores,
  dest: PhysicalKey,
  size: number | undefined,
  want: EntryHash | undefined,
): Promise<{ head?: ObjectHead; same: boolean }> {
  const head = await store.head(stores.forPhysicalKey(dest).loc).catch((err: unknown) => {
    if (isQuiltError(err, "ENOTFOUND")) return undefined;
    throw err;
  });
  if (!head || !want || (size !== undefined && head.size !== size))
    return { ...(head && { head }), same: false };
  const have = await destinationHash(store, dest, head);
  return { head, same: have !== undefined && have.type === want.type && have.value === want.value };
}

/**
 * The sha2-256-chunked hash of an object S3 just stored, from the checksum it returned:
 * for a single PUT the SHA-256 of the bytes; for a multipart upload the composite
 * "<digest>-<parts>", which is the quilt hash only when the parts were the hash's chunks
 * (a store configured with another part size makes it something else: undefined then).
 */
export function hashFromStoredChecksum(
  size: number,
  type: string,
  checksum: string | undefined,
): EntryHash | undefined {
  if (type !== "sha2-256-chunked" || checksum === undefined) return undefined;
  const composite = /^(.+)-(\d+)$/.exec(checksum);
  if (!composite) return chunkedFromS3Checksum(size, checksum);
  return Number(composite[2]) === Math.ceil(size / chunkSizeFor(size))
    ? { type, value: composite[1] as string }
    : undefined;
}

/**
 * The bytes uploaded are the bytes hashed: a local file edited after the manifest was built
 * must not go out under its old hash (every later download would fail its check). Where the
 * destination tells what it stored (S3's SHA-256 checksum, or a file in a local registry)
 * that is compared with the hash; elsewhere the file's size is.
 */
async function checkUploaded(
  e: BuilderEntry,
  want: EntryHash | undefined,
  put: PutResult,
  dest: PhysicalKey,
): Promise<void> {
  if (!want || e.size === undefined) return;
  const have = dest.isLocal()
    ? await hashFile(dest.path, want.type as HashType)
    : hashFromStoredChecksum(e.size, want.type, put.checksumSha256);
  const changed =
    have !== undefined ? have.value !== want.value : (await stat(e.source.path)).size !== e.size;
  if (changed) {
    throw new QuiltError(
      "ESTALE",
      `${e.source.path} changed after the manifest was built: the bytes uploaded for ${e.logicalKey} do not match its hash`,
      {
        hint: "build the manifest again (PackageBuilder.buildManifest, or `quilt build-manifest`), then push",
      },
    );
  }
}

export async function pushData(
  stores: Stores,
  registry: Registry,
  name: string,
  entries: BuilderEntry[],
  opts: PushDataOptions = {},
): Promise<PushedEntry[]> {
  const prefix = normalizePrefix(opts.prefix ?? name);
  const dstStore = registry.store;
  const selected = (e: BuilderEntry) =>
    opts.select?.({ logicalKey: e.logicalKey, physicalKey: e.source.toString(), size: e.size }) ?? true;
  const todo = entries.filter((e) => (e.source.isLocal() || !opts.localFilesOnly) && selected(e));
  const progress: TransferProgress = { filesDone: 0, filesTotal: todo.length, bytesDone: 0, bytesTotal: 0 };
  const pushed: PushedEntry[] = [];
  await forEachLimited(todo, opts.concurrency ?? DEFAULT_TRANSFER_CONCURRENCY, async (e) => {
    const from = e.source;
    let dest = destKey(registry, prefix, e.logicalKey);
    if (from.bucket === dest.bucket && from.path === dest.path) {
      pushed.push({ entry: e, from, outcome: "in-place" });
      return;
    }
    const want = await entryHash(stores, e);
    let found = await sameBytesAt(dstStore, stores, dest, e.size, want);
    if (found.head && !found.same && !isVersioned(dest, found.head)) {
      // Without versioning, overwriting would destroy bytes an earlier package version
      // points at: the new bytes go next to them instead.
      dest = destKey(
        registry,
        prefix,
        `${VERSIONS_DIR}/${want ? hashToken(want) : randomBytes(8).toString("hex")}/${e.logicalKey}`,
      );
      found = await sameBytesAt(dstStore, stores, dest, e.size, want);
    }
    const loc = stores.forPhysicalKey(dest).loc;
    if (found.same && found.head) {
      e.source = dest.isLocal() ? dest : dest.withVersion(found.head.versionId ?? null);
      pushed.push({ entry: e, from, outcome: "skipped" });
      progress.filesDone++;
      opts.onProgress?.({ ...progress });
      return;
    }
    const src = stores.forPhysicalKey(from);
    let versionId: string | undefined;
    if (from.isLocal()) {
      const put = await dstStore.put(loc, { path: from.path });
      await checkUploaded(e, want, put, dest);
      versionId = put.versionId;
    } else if (src.store === dstStore) {
      versionId = (await dstStore.copy(src.loc, loc)).versionId;
    } else {
      // Between stores (S3 into a local registry): small objects through memory, large ones
      // through a temporary file, so memory stays bounded whatever the object's size.
      // Spooled next to the destination when it is a directory: same filesystem, and /tmp may be small.
      const spoolDir = dest.isLocal() ? dirname(dest.path) : tmpdir();
      versionId = (await copyBetweenStores(src.store, src.loc, dstStore, loc, e.size, spoolDir)).versionId;
    }
    e.source = dest.isLocal() ? dest : dest.withVersion(versionId ?? null);
    pushed.push({ entry: e, from, outcome: from.isLocal() ? "uploaded" : "copied" });
    progress.filesDone++;
    progress.bytesDone += e.size ?? 0;
    opts.onProgress?.({ ...progress });
  });
  return pushed.sort((a, b) => compareLogicalKeys(a.entry.logicalKey, b.entry.logicalKey));
}
