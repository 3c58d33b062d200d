// A package registry (S3 bucket or local directory) in quilt3's layout, the one object the
// rest of quilt reaches a registry through. It loads manifests through the manifest cache
// and pushes manifests and pointers in quilt3's order (manifest, then timestamp pointer,
// then `latest`, then the tag) so a reader never sees a pointer to a manifest that is not
// there yet. Pointer files (registry-pointers.ts), resolving a tag or hash to a version
// (registry-resolve.ts), listing (registry-listing.ts) and deleting (registry-delete.ts)
// are functions of their own, over the store and root this class holds.
import { QuiltError, isQuiltError } from "../errors.js";
import type { Manifest } from "../manifest/manifest.js";
import type { RegistryUrl } from "../manifest/registry-url.js";
import type { TopHash } from "../types.js";
import { ManifestCache } from "./manifest-cache.js";
import { writeManifestFile } from "./manifest-file.js";
import type { ObjectStore } from "./object-store.js";
import { layoutsFrom, manifestKey, type LayoutVersion } from "./registry-layout.js";
import { listPackages, listVersions, type VersionInfo } from "./registry-listing.js";
import {
  assertTag,
  LATEST,
  listPointers,
  readPointer,
  writePointer,
  type RegistryRoot,
  type Resolved,
} from "./registry-pointers.js";
import { resolveVersion } from "./registry-resolve.js";

export class Registry implements RegistryRoot {
  constructor(
    readonly url: RegistryUrl,
    readonly store: ObjectStore,
    /** This registry's own cache: a manifest cached for another registry must never be used here. */
    readonly manifests: ManifestCache = new ManifestCache(null, url.url),
  ) {}

  /** The store's bucket: an S3 bucket name or the registry directory. */
  get bucket(): string {
    return this.url.kind === "s3" ? this.url.bucket : this.url.dir;
  }

  /** URL of an object in the registry, for messages. */
  objectUrl(key: string): string {
    return `${this.url.url}/${key}`;
  }

  manifestUrl(name: string, topHash: string, layout: LayoutVersion = "v1"): string {
    return this.objectUrl(manifestKey(layout, name, topHash));
  }

  /** Reads a pointer (tag) file in either layout. */
  async readPointer(name: string, pointer: string): Promise<Resolved | undefined> {
    return readPointer(this, name, pointer);
  }

  /** A tag (default "latest"), a hash or unique hash prefix, or both (which must agree). */
  async resolve(name: string, ref: { tag?: string; hash?: string } = {}): Promise<Resolved> {
    return resolveVersion(this, name, ref);
  }

  /** The manifest of a resolved version: from the cache, else fetched once and verified. */
  async loadManifest(r: Resolved): Promise<Manifest> {
    const cached = await this.manifests.get(r.name, r.topHash);
    if (cached) return cached;
    const { bytes, where } = await this.fetchManifest(r);
    return this.manifests.put(r.name, r.topHash, bytes, where);
  }

  /**
   * A manifest's bytes for a reader that verifies them itself as it streams them (a manifest
   * index build): the cached file with the SHA-256 it must have, or the bytes fetched from
   * the registry, which the reader keeps (`manifests.keep`) once their top hash matched.
   */
  async manifestSource(
    r: Resolved,
  ): Promise<{ path: string; sha256: string } | { bytes: Buffer; where: string }> {
    return (await this.manifests.cachedFile(r.name, r.topHash)) ?? (await this.fetchManifest(r));
  }

  private async fetchManifest(r: Resolved): Promise<{ bytes: Buffer; where: string }> {
    const layouts = layoutsFrom(r.layout);
    for (const layout of layouts) {
      const key = manifestKey(layout, r.name, r.topHash);
      try {
        return { bytes: await this.store.get({ bucket: this.bucket, key }), where: this.objectUrl(key) };
      } catch (err) {
        if (!isQuiltError(err, "ENOTFOUND")) throw err;
      }
    }
    throw this.missingManifest(r);
  }

  missingManifest(r: Resolved): QuiltError {
    return new QuiltError(
      "ENOTFOUND",
      `Manifest ${r.topHash} of ${r.name} is missing from registry ${this.url.url}`,
      {
        hint: "a pointer names a manifest that is not there; the registry is incomplete",
      },
    );
  }

  async listPointers(name: string): Promise<{ pointer: string; layout: LayoutVersion }[]> {
    return listPointers(this, name);
  }

  /** Every version of a package with the pointers that name it, newest first. */
  async listVersions(name: string): Promise<VersionInfo[]> {
    return listVersions(this, name);
  }

  /** Package names ("ns/name") in the registry, sorted. */
  async listPackages(): Promise<string[]> {
    return listPackages(this);
  }

  /**
   * Writes the manifest, then the timestamp pointer, then `latest`, then the tag. Each
   * write is atomic, so a racing push leaves both manifests in place and the tag naming one.
   */
  async pushManifest(
    name: string,
    manifest: Manifest,
    opts: { tag?: string; now?: Date } = {},
  ): Promise<{ topHash: TopHash; url: string }> {
    if (opts.tag !== undefined) assertTag(opts.tag);
    const topHash = manifest.topHash;
    const key = manifestKey("v1", name, topHash);
    // Our own bytes are read back as written (manifest-file.ts): the writer is checked
    // against the top hash before the upload and before any pointer names it.
    const dir = await this.manifests.scratchDir(name, topHash);
    const file = await writeManifestFile(manifest, dir, this.objectUrl(key));
    try {
      await this.store.put(
        { bucket: this.bucket, key },
        { path: file.path },
        { contentType: "application/jsonl" },
      );
      await this.manifests.adopt(name, topHash, manifest, file);
    } finally {
      await file.discard();
    }
    const seconds = Math.floor((opts.now ?? new Date()).getTime() / 1000);
    await this.writePointer(name, String(seconds), topHash);
    await this.writePointer(name, LATEST, topHash);
    if (opts.tag !== undefined && opts.tag !== LATEST) await this.writePointer(name, opts.tag, topHash);
    return { topHash, url: this.objectUrl(key) };
  }

  /** Points a tag at an existing version. */
  async setTag(name: string, topHash: TopHash, tag: string): Promise<void> {
    assertTag(tag);
    await this.loadManifest({ name, topHash, layout: "v1" });
    await this.writePointer(name, tag, topHash);
  }

  /** Writes one pointer file (atomically: a reader sees the old hash or the new one). */
  async writePointer(
    name: string,
    pointer: string,
    topHash: TopHash,
    layout: LayoutVersion = "v1",
  ): Promise<void> {
    return writePointer(this, name, pointer, topHash, layout);
  }
}
