// A manifest's bytes as a stream, for readers that go through a version's entries once
// without holding them (manifest-stream.ts): the copy in the manifest cache when there is
// one, else the registry's object, copied into the manifest cache as it passes. Nothing here
// is verified: the reader computes the top hash, asks `intact()` of a cached copy (the
// SHA-256 of its exact bytes, which covers the physical keys the top hash does not; see
// manifest-cache.ts), and only then calls `keep()`, which puts a fetched copy in the cache.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import type { Readable } from "node:stream";
import { isQuiltError } from "../errors.js";
import { hashing, type IncomingManifest } from "./manifest-cache.js";
import type { Registry } from "./registry.js";
import type { Resolved } from "./registry-pointers.js";
import { layoutsFrom, manifestKey } from "./registry-layout.js";

export interface ManifestSource {
  bytes: AsyncIterable<Buffer>;
  /** Where the bytes come from, for messages. */
  where: string;
  /** True for the manifest cache's copy: a mismatch there means a damaged cache, not a bad registry. */
  cached: boolean;
  /** Once `bytes` was read to its end: false when the cached copy is not the one fetched. */
  intact(): boolean;
  /** The reader verified the bytes: the registry's go into the manifest cache for later commands. */
  keep(): Promise<void>;
  /** The reader stopped or refused them: nothing is cached. */
  discard(): Promise<void>;
}

/** The manifest cache's copy of a version, or undefined when it has none. */
export async function cachedManifestSource(
  registry: Registry,
  r: Resolved,
): Promise<ManifestSource | undefined> {
  const file = await registry.manifests.cachedFile(r.name, r.topHash);
  if (file === undefined) return undefined;
  const sha = createHash("sha256");
  return {
    bytes: hashing(createReadStream(file.path), sha),
    where: file.path,
    cached: true,
    intact: () => sha.digest("hex") === file.sha256,
    keep: async () => undefined,
    discard: async () => undefined,
  };
}

/** The registry's object, in either layout (as Registry.loadManifest looks for it). */
export async function registryManifestSource(registry: Registry, r: Resolved): Promise<ManifestSource> {
  const layouts = layoutsFrom(r.layout);
  // A cache that cannot be written is no reason to fail the reader: it just is not filled.
  const incoming = await registry.manifests.incoming(r.name, r.topHash).catch(() => null);
  for (const layout of layouts) {
    const key = manifestKey(layout, r.name, r.topHash);
    let stream: Readable;
    try {
      stream = await registry.store.getStream({ bucket: registry.bucket, key });
    } catch (err) {
      if (isQuiltError(err, "ENOTFOUND")) continue;
      await incoming?.discard();
      throw err;
    }
    return {
      bytes: copying(stream, incoming),
      where: registry.objectUrl(key),
      cached: false,
      intact: () => true,
      keep: async () => incoming?.keep().catch(() => undefined),
      discard: async () => incoming?.discard(),
    };
  }
  await incoming?.discard();
  throw registry.missingManifest(r);
}

async function* copying(
  source: AsyncIterable<Buffer>,
  into: IncomingManifest | null,
): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    await into?.write(chunk);
    yield chunk;
  }
}
