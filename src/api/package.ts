// Package: one immutable version of a package, browsed from a registry. Loading it reads
// only the manifest; bytes are fetched when asked for, verified against the manifest.
// Nothing here changes the package: asPackageBuilder() starts a new version. Which entries
// a call names (a prefix, a directory, the README, a sample) is package-selection.ts;
// installing it into a directory, and checking or forcing one, is package-install.ts.
import { inspect } from "node:util";
import { QuiltError } from "../errors.js";
import { toPlain, type PlainJson } from "../manifest/json-value.js";
import { userMeta, type Manifest } from "../manifest/manifest.js";
import type { RegistryUrl } from "../manifest/registry-url.js";
import type { TopHash } from "../types.js";
import { getDefaultSession, type Session } from "../session.js";
import type { DownloadOptions, DownloadResult } from "./download.js";
import { VerifiedEntryReader } from "./verified-entry-reader.js";
import { cacheEntries, type CacheOptions, type CacheResult } from "./cache-entries.js";
import type { Change } from "./force-match.js";
import { forceInstalled, installVersion, verifyInstalled } from "./package-install.js";
import { formatPackage } from "./package-display.js";
import { PackageDirectory, PackageEntry, type EntryBytesReader } from "./package-entry.js";
import { entriesNamed, entriesUnder, listDirectory, readmeEntry, sampleKeys } from "./package-selection.js";
import type { PackageBuilder } from "./package-builder.js";
import { diffManifests, type PackageDiff } from "./diff.js";
import type { VerifyOptions, DirectoryVerifyResult } from "./verify-directory.js";
import { quoted } from "../untrusted-text.js";
import { versionLabel } from "../manifest/version-label.js";

export interface BrowseOptions {
  registry?: string;
  tag?: string;
  hash?: string;
  session?: Session;
}

/**
 * How a version becomes the builder of its next version (PackageBuilder.fromPackage), set by
 * package-builder.ts as it loads. The builder imports this module (it adds other packages'
 * entries and returns the Packages it pushes), so this one does not import it back: the
 * dependency points one way. The library's entry point (index.ts) loads both.
 */
type BuilderFromPackage = (
  pkg: Package,
  opts: { output?: (line: string) => void; registry?: string },
) => PackageBuilder;
let builderFromPackage: BuilderFromPackage | undefined;

export function provideBuilderFromPackage(make: BuilderFromPackage): void {
  builderFromPackage = make;
}

export interface VerifyReport extends DirectoryVerifyResult {
  /** The use case's lines: one per difference, then how to fix it. Empty when ok. */
  lines: string[];
}

export class Package implements Iterable<PackageEntry> {
  private readonly reader: EntryBytesReader;

  private constructor(
    readonly session: Session,
    readonly registry: RegistryUrl,
    readonly name: string,
    readonly tag: string | undefined,
    readonly manifest: Manifest,
    readonly manifestLocation: string,
  ) {
    this.reader = new VerifiedEntryReader(session);
  }

  /** Loads the manifest of `spec` (ns/name[:tag][@hash] or a full URL); no data is read. */
  static async browse(spec: string, opts: BrowseOptions = {}): Promise<Package> {
    const session = opts.session ?? getDefaultSession();
    const parsed = session.parseSpec(spec, opts.registry);
    const tag = opts.tag ?? parsed.tag;
    const hash = opts.hash ?? parsed.hash;
    const registry = session.registry(parsed.registry);
    const resolved = await registry.resolve(parsed.name, {
      ...(tag !== undefined && { tag }),
      ...(hash !== undefined && { hash }),
    });
    const manifest = await registry.loadManifest(resolved);
    return new Package(
      session,
      parsed.registry,
      parsed.name,
      hash !== undefined && tag === undefined ? undefined : (tag ?? "latest"),
      manifest,
      registry.manifestUrl(parsed.name, resolved.topHash, resolved.layout),
    );
  }

  /** For code that already holds a manifest (the builder after a push, tests). */
  static fromManifest(
    session: Session,
    registry: RegistryUrl,
    name: string,
    tag: string | undefined,
    manifest: Manifest,
    manifestLocation: string,
  ): Package {
    return new Package(session, registry, name, tag, manifest, manifestLocation);
  }

  get hash(): TopHash {
    return this.manifest.topHash;
  }

  /** "ns/name:tag", or "ns/name@<short hash>" for a version named by hash. */
  get label(): string {
    return versionLabel(this.ref());
  }

  get message(): string | null {
    return this.manifest.message;
  }

  /** The package-level user metadata. */
  get metadata(): PlainJson {
    return toPlain(userMeta(this.manifest.header));
  }

  *[Symbol.iterator](): Iterator<PackageEntry> {
    for (const e of this.manifest.entries) yield new PackageEntry(e, this.reader);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<PackageEntry> {
    // Not `yield* this`: inside an async generator that would pick this very method again.
    for (const e of this) yield e;
  }

  /** Entries under a prefix ("train/" or "train"), in walk order. */
  entries(prefix = ""): PackageEntry[] {
    return entriesUnder(this.manifest, prefix).map((e) => new PackageEntry(e, this.reader));
  }

  getEntry(key: string): PackageEntry {
    const e = this.manifest.get(key);
    if (!e) {
      throw new QuiltError("ENOTFOUND", `No entry ${quoted(key)} in ${this.label}`, {
        hint: "list entries with ls(prefix)",
      });
    }
    return new PackageEntry(e, this.reader);
  }

  has(key: string): boolean {
    return this.manifest.has(key);
  }

  /** Immediate children of a directory: files as entries, directories with a trailing "/". */
  ls(prefix = ""): (PackageEntry | PackageDirectory)[] {
    return listDirectory(this.manifest, prefix, this.reader, this.label);
  }

  /** The text of README.md (or the first readme-like file at the top level). */
  async readme(): Promise<string> {
    return this.getEntry(readmeEntry(this.manifest, this.label).logicalKey).getText();
  }

  getContents(key: string): Promise<Buffer> {
    return this.getEntry(key).getBytes();
  }

  /**
   * A file's metadata; for a directory ("dir/" or "dir"), its directory metadata as quilt3's
   * `pkg["dir"].meta` gives it: that of its metadata line in the manifest, else {}.
   */
  getMetadata(key: string): PlainJson {
    if (this.manifest.has(key) || key === "") return this.getEntry(key).metadata;
    const dir = key.endsWith("/") ? key : key + "/";
    const meta = this.manifest.dirMeta.get(dir);
    if (meta === undefined && this.entries(dir).length === 0) return this.getEntry(key).metadata;
    return meta === undefined ? {} : toPlain(meta);
  }

  /** Contents decoded by type: JSON files parsed, text files as strings, anything else as bytes. */
  async get(key: string): Promise<unknown> {
    const entry = this.getEntry(key);
    if (/\.json$/i.test(key)) return entry.getJson();
    if (/\.(txt|md|csv|tsv|jsonl|ya?ml|xml|html?)$/i.test(key)) return entry.getText();
    return entry.getBytes();
  }

  /**
   * Fetches entries (one key, or every key under a prefix; or several of either) into the
   * local data cache (QUILT_CACHE_DATA_DIR when set), verified, several files at once, so
   * later reads, mounts and installs sharing it make no request. What is already cached is
   * not fetched again, so an interrupted call resumes where it stopped.
   */
  async cache(
    keysOrPrefixes: string | readonly string[] = "",
    opts: CacheOptions = {},
  ): Promise<CacheResult> {
    const entries = entriesNamed(this.manifest, keysOrPrefixes, this.label);
    return cacheEntries(await this.session.blockCache(), this.session.stores, entries, opts);
  }

  /**
   * Empties the library's data cache (only when the user asks: other packages share it):
   * deletes the blocks the library fetched into it, which every package read through this
   * cache directory shares. Blocks that a mount daemon keeps in the same data directory (the
   * default, `QUILT_CACHE_DIR`/data) belong to the daemon's own index and are left alone, as
   * are those of other daemons sharing it; `{ all: true }` deletes every block in the data
   * directory, theirs included (a running daemon then fetches again what it reads).
   */
  async clearCache(opts: { all?: boolean } = {}): Promise<void> {
    await (await this.session.blockCache()).clear(opts);
  }

  /** Installs (incrementally) into `dir`. */
  download(dir: string, opts: DownloadOptions = {}): Promise<DownloadResult> {
    return installVersion(this, dir, opts);
  }

  verifyDirectoryMatchesManifest(dir: string, opts: VerifyOptions = {}): Promise<VerifyReport> {
    return verifyInstalled(this, dir, opts);
  }

  forceDirectoryToMatchManifest(
    dir: string,
    opts: Pick<DownloadOptions, "onProgress" | "paths"> & { deep?: boolean } = {},
  ): Promise<Change[]> {
    return forceInstalled(this, dir, opts);
  }

  /**
   * A builder for the next version: same entries, hashes and metadata; with `registry`, a
   * version of the package in another registry (pushing it copies the objects there).
   */
  asPackageBuilder(opts: { output?: (line: string) => void; registry?: string } = {}): PackageBuilder {
    if (!builderFromPackage)
      throw new QuiltError("EINTERNAL", "PackageBuilder is not loaded", {
        hint: 'import Package from the library\'s entry point ("quilt"), which loads PackageBuilder too',
      });
    return builderFromPackage(this, opts);
  }

  /** `fn` of every entry under `prefix`, in key order (quilt3's `Package.map`). */
  map<T>(fn: (entry: PackageEntry) => T, prefix = ""): T[] {
    return this.entries(prefix).map((e) => fn(e));
  }

  /** A builder with a subset of the entries (same physical objects; nothing is downloaded). */
  filter(keep: (entry: PackageEntry) => boolean): PackageBuilder {
    const keys = new Set(
      this.manifest.entries
        .filter((e) => keep(new PackageEntry(e, this.reader)))
        .map((e) => e.logicalKey as string),
    );
    return this.asPackageBuilder().filter((e) => keys.has(e.logicalKey));
  }

  /** A builder with `n` entries picked at random (seeded, so a sample can be made again). */
  sample(n: number, seed = 1): PackageBuilder {
    const chosen = sampleKeys(this.manifest, n, seed);
    return this.asPackageBuilder().filter((e) => chosen.has(e.logicalKey));
  }

  /**
   * What changed from this version to `other`, as quilt3's `Package.diff`: `added` is in
   * `other` only, `removed` (quilt3's `deleted`) in this version only; quilt3's `modified`
   * is `modified` (content) plus `metadataChanged`.
   */
  diff(other: Package): PackageDiff {
    return diffManifests(this.manifest, other.manifest);
  }

  /** Packages are immutable. */
  set(): never {
    throw new QuiltError("EUSAGE", "Package has no method set(): a package version never changes", {
      hint: "call asPackageBuilder() and change the builder",
    });
  }

  ref(): { registry: string; name: string; tag?: string; topHash: string } {
    return {
      registry: this.registry.url,
      name: this.name,
      ...(this.tag !== undefined && { tag: this.tag }),
      topHash: this.hash,
    };
  }

  toString(): string {
    return formatPackage(this.label, this.hash, this.manifestLocation, this.manifest.entries);
  }

  [inspect.custom](): string {
    return this.toString();
  }
}
