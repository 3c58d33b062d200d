// Pushes a builder's data into its registry under <prefix>/<logical key>: local files are
// uploaded, objects elsewhere copied (unless only local files are asked for), and any
// destination that already holds the same bytes is kept ("data exists, skipping"). Every
// pushed entry then points at the new object, pinned to its version.
import { BASE_CHUNK_BYTES, hashBytes, hashFile, hashFileSized, type EntryHash } from "../manifest/checksums.js";
import { fromPlain, type JsonObject } from "../manifest/json-value.js";
import { PhysicalKey } from "../manifest/physical-key.js";
import type { Registry } from "../storage/registry.js";
import type { ObjectHead, ObjectStore } from "../storage/object-store.js";
import type { Stores } from "../storage/stores.js";
import { isQuiltError } from "../errors.js";
import { compareLogicalKeys } from "../manifest/logical-key.js";
import type { BuilderEntry } from "./builder-sources.js";
import { chunkedFromS3Checksum } from "./build-manifest.js";
import { forEachLimited } from "./limit.js";
import { DEFAULT_TRANSFER_CONCURRENCY, type TransferProgress } from "./download.js";

export interface PushDataOptions {
  /** Key prefix in the registry bucket (leading and trailing "/" ignored); default the package name. */
  prefix?: string;
  /** Upload local files only; leave entries that point at S3 objects where they are. */
  localFilesOnly?: boolean;
  concurrency?: number;
  onProgress?: (p: TransferProgress) => void;
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
  return registry.url.kind === "s3" ? PhysicalKey.s3(registry.url.bucket, path) : PhysicalKey.local(`${registry.url.dir}/${path}`);
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
async function destinationHash(store: ObjectStore, dest: PhysicalKey, head: ObjectHead): Promise<EntryHash | undefined> {
  if (dest.isLocal()) return hashFile(dest.path);
  if (head.size === 0) return hashBytes(Buffer.alloc(0));
  if (head.size <= BASE_CHUNK_BYTES) return chunkedFromS3Checksum(head.size, head.checksumSha256);
  return head.compositeSha256 !== undefined ? { type: "sha2-256-chunked", value: head.compositeSha256 } : undefined;
}

export async function pushData(stores: Stores, registry: Registry, name: string, entries: BuilderEntry[], opts: PushDataOptions = {}): Promise<PushedEntry[]> {
  const prefix = normalizePrefix(opts.prefix ?? name);
  const dstStore = registry.store;
  const todo = entries.filter((e) => e.source.isLocal() || !opts.localFilesOnly);
  const progress: TransferProgress = { filesDone: 0, filesTotal: todo.length, bytesDone: 0, bytesTotal: 0 };
  const pushed: PushedEntry[] = [];
  await forEachLimited(todo, opts.concurrency ?? DEFAULT_TRANSFER_CONCURRENCY, async (e) => {
    const from = e.source;
    const dest = destKey(registry, prefix, e.logicalKey);
    if (from.bucket === dest.bucket && from.path === dest.path) {
      pushed.push({ entry: e, from, outcome: "in-place" });
      return;
    }
    const loc = stores.forPhysicalKey(dest).loc;
    const head = await dstStore.head(loc).catch((err: unknown) => {
      if (isQuiltError(err, "ENOTFOUND")) return undefined;
      throw err;
    });
    const want = await entryHash(stores, e);
    if (head && want && (e.size === undefined || head.size === e.size)) {
      const have = await destinationHash(dstStore, dest, head);
      if (have && have.type === want.type && have.value === want.value) {
        e.source = dest.isLocal() ? dest : dest.withVersion(head.versionId ?? null);
        pushed.push({ entry: e, from, outcome: "skipped" });
        progress.filesDone++;
        opts.onProgress?.({ ...progress });
        return;
      }
    }
    const src = stores.forPhysicalKey(from);
    let versionId: string | undefined;
    if (from.isLocal()) {
      versionId = (await dstStore.put(loc, { path: from.path })).versionId;
    } else if (src.store === dstStore) {
      versionId = (await dstStore.copy(src.loc, loc)).versionId;
    } else {
      // Between stores (S3 into a local registry): through memory is fine for one object at a time.
      versionId = (await dstStore.put(loc, await src.store.get(src.loc))).versionId;
    }
    e.source = dest.isLocal() ? dest : dest.withVersion(versionId ?? null);
    pushed.push({ entry: e, from, outcome: from.isLocal() ? "uploaded" : "copied" });
    progress.filesDone++;
    progress.bytesDone += e.size ?? 0;
    opts.onProgress?.({ ...progress });
  });
  return pushed.sort((a, b) => compareLogicalKeys(a.entry.logicalKey, b.entry.logicalKey));
}
