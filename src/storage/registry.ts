// A package registry (S3 bucket or local directory) in quilt3's layout: resolves names,
// tags, timestamps and hash prefixes to top hashes, loads manifests through the manifest
// cache, lists packages and versions, and pushes manifests and pointers in quilt3's order
// (manifest, then timestamp pointer, then `latest`, then the tag) so a reader never sees
// a pointer to a manifest that is not there yet.
import { QuiltError, isQuiltError } from "../errors.js";
import type { Manifest } from "../manifest/manifest.js";
import type { RegistryUrl } from "../manifest/registry-url.js";
import { isValidTag } from "../manifest/package-spec.js";
import { shortHash } from "../manifest/version-label.js";
import { isTopHash, type TopHash } from "../types.js";
import { ManifestCache } from "./manifest-cache.js";
import { writeManifestFile } from "./manifest-file.js";
import type { ObjectStore } from "./object-store.js";
import {
  layoutsFrom,
  manifestKey,
  manifestSearchPrefix,
  packageNameFromV2,
  pointerDir,
  pointerKey,
  topHashFromManifestKey,
  V1_POINTERS,
  V2_TAGS,
  type LayoutVersion,
} from "./registry-layout.js";
import { quoted } from "../untrusted-text.js";

export const LATEST = "latest";
/** quilt3 refuses hash prefixes shorter than this. */
export const MIN_HASH_PREFIX = 6;

export interface Resolved {
  name: string;
  topHash: TopHash;
  layout: LayoutVersion;
}

export interface VersionInfo {
  topHash: TopHash;
  /** Every pointer naming this hash: timestamps, "latest" and named tags. */
  pointers: string[];
  /** Named tags (pointers that are neither "latest" nor a timestamp). */
  tags: string[];
  /** From the newest timestamp pointer, when there is one. */
  time?: Date;
}

/** Timestamp pointers are all digits (seconds since the epoch); tags never are. */
export const isTimestamp = (p: string): boolean => /^\d{1,12}$/.test(p);

export class Registry {
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

  private async getText(key: string): Promise<string | undefined> {
    try {
      return (await this.store.get({ bucket: this.bucket, key })).toString("utf8");
    } catch (err) {
      if (isQuiltError(err, "ENOTFOUND")) return undefined;
      throw err;
    }
  }

  /** Reads a pointer (tag) file in either layout. */
  async readPointer(name: string, pointer: string): Promise<Resolved | undefined> {
    for (const layout of ["v1", "v2"] as const) {
      const text = await this.getText(pointerKey(layout, name, pointer));
      if (text === undefined) continue;
      const hash = text.trim();
      if (!isTopHash(hash)) {
        throw new QuiltError(
          "EBADMANIFEST",
          `Pointer ${this.objectUrl(pointerKey(layout, name, pointer))} does not hold a top hash`,
          {
            hint: "the pointer file is corrupt; re-tag the version with `quilt tag`",
          },
        );
      }
      return { name, topHash: hash, layout };
    }
    return undefined;
  }

  /** A tag (default "latest"), a hash or unique hash prefix, or both (which must agree). */
  async resolve(name: string, ref: { tag?: string; hash?: string } = {}): Promise<Resolved> {
    if (ref.hash !== undefined) {
      const byHash = await this.resolveHash(name, ref.hash);
      if (ref.tag !== undefined) {
        const byTag = await this.resolveTag(name, ref.tag);
        if (byTag.topHash !== byHash.topHash) {
          throw new QuiltError(
            "EUSAGE",
            `${name}:${ref.tag} is ${shortHash(byTag.topHash)}, not @${ref.hash}`,
            {
              hint: "give either a tag or a hash",
            },
          );
        }
      }
      return byHash;
    }
    return this.resolveTag(name, ref.tag ?? LATEST);
  }

  private async resolveTag(name: string, tag: string): Promise<Resolved> {
    const found = await this.readPointer(name, tag);
    if (found) return found;
    const known = await this.listPointers(name);
    if (known.length === 0) {
      throw new QuiltError("ENOTFOUND", `No package ${name} in registry ${this.url.url}`, {
        hint: `list the packages there with \`quilt list --registry ${this.url.url}\``,
      });
    }
    const tags = [...new Set(known.map((p) => p.pointer).filter((p) => !isTimestamp(p)))];
    throw new QuiltError(
      "ENOTFOUND",
      `Unknown tag ${quoted(tag)} for package ${name} in registry ${this.url.url}`,
      {
        hint: `known tags: ${tags.join(", ") || "(none)"}; \`quilt log ${name}\` lists every version`,
      },
    );
  }

  private async resolveHash(name: string, prefix: string): Promise<Resolved> {
    const p = prefix.toLowerCase();
    if (!/^[0-9a-f]+$/.test(p) || p.length < MIN_HASH_PREFIX || p.length > 64) {
      throw new QuiltError(
        "EBADSPEC",
        `Invalid hash ${quoted(prefix)}: expected ${MIN_HASH_PREFIX} to 64 hex characters`,
      );
    }
    const matches = new Map<string, LayoutVersion>();
    for (const layout of ["v1", "v2"] as const) {
      for await (const e of this.store.list(this.bucket, manifestSearchPrefix(layout, name, p))) {
        if (e.kind !== "object") continue;
        const h = topHashFromManifestKey(layout, e.key);
        if (h !== undefined && !matches.has(h)) matches.set(h, layout);
      }
      if (matches.size > 0 && p.length === 64) break;
    }
    if (matches.size === 0) {
      throw new QuiltError(
        "ENOTFOUND",
        `No manifest of ${name} matches hash ${quoted(prefix)} in registry ${this.url.url}`,
        {
          hint: `\`quilt log ${name}\` lists the versions`,
        },
      );
    }
    if (matches.size > 1) {
      const list = [...matches.keys()].sort();
      throw new QuiltError(
        "EAMBIGUOUS",
        `Hash prefix ${quoted(prefix)} matches ${list.length} manifests:\n  ${list.join("\n  ")}`,
        {
          hint: "give more characters of the hash",
        },
      );
    }
    const [[topHash, layout]] = [...matches] as [[string, LayoutVersion]];
    return { name, topHash: topHash as TopHash, layout };
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
    const out: { pointer: string; layout: LayoutVersion }[] = [];
    for (const layout of ["v1", "v2"] as const) {
      const dir = pointerDir(layout, name);
      for await (const e of this.store.list(this.bucket, dir, { delimiter: "/" })) {
        if (e.kind === "object") out.push({ pointer: e.key.slice(dir.length), layout });
      }
    }
    return out;
  }

  /** Every version of a package with the pointers that name it, newest first. */
  async listVersions(name: string): Promise<VersionInfo[]> {
    const byHash = new Map<string, VersionInfo>();
    for (const { pointer } of await this.listPointers(name)) {
      const r = await this.readPointer(name, pointer);
      if (!r) continue;
      const v = byHash.get(r.topHash) ?? { topHash: r.topHash, pointers: [], tags: [] };
      v.pointers.push(pointer);
      if (isTimestamp(pointer)) {
        const t = new Date(Number(pointer) * 1000);
        if (!v.time || t > v.time) v.time = t;
      } else if (pointer !== LATEST) v.tags.push(pointer);
      byHash.set(r.topHash, v);
    }
    return [...byHash.values()].sort((a, b) => (b.time?.getTime() ?? 0) - (a.time?.getTime() ?? 0));
  }

  /** Package names ("ns/name") in the registry, sorted. */
  async listPackages(): Promise<string[]> {
    const names = new Set<string>();
    for await (const ns of this.store.list(this.bucket, V1_POINTERS, { delimiter: "/" })) {
      if (ns.kind !== "prefix") continue;
      for await (const pkg of this.store.list(this.bucket, ns.prefix, { delimiter: "/" })) {
        if (pkg.kind === "prefix") names.add(pkg.prefix.slice(V1_POINTERS.length, -1));
      }
    }
    for await (const e of this.store.list(this.bucket, V2_TAGS, { delimiter: "/" })) {
      if (e.kind === "prefix") names.add(packageNameFromV2(e.prefix.slice(V2_TAGS.length, -1)));
    }
    return [...names].sort();
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
    // No trailing newline: quilt3 writes and compares the bare hash.
    await this.store.put(
      { bucket: this.bucket, key: pointerKey(layout, name, pointer) },
      Buffer.from(topHash, "ascii"),
    );
  }
}

function assertTag(tag: string): void {
  if (!isValidTag(tag) || isTimestamp(tag)) {
    throw new QuiltError("EUSAGE", `Invalid tag ${quoted(tag)}`, {
      hint: "a tag is letters, digits, '_', '-' and '.', and not all digits (those are timestamps)",
    });
  }
}
