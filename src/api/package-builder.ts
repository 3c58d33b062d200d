// PackageBuilder: the mutable side. Collects entries from local files, S3 and other
// packages (builder-add.ts), renames and annotates them (builder-entries.ts), builds the
// manifest, pushes data and manifest (builder-push.ts). What it holds is one BuilderParts
// (builder-parts.ts) those files read and change; this class is the library's face over
// them. Safe by default: a manifest pointing at local files, or one not pushed, is not a
// Package unless the caller says so explicitly (builder-push.ts).
import { inspect } from "node:util";
import { fromPlain } from "../manifest/json-value.js";
import { parseLogicalPrefix } from "../manifest/logical-key.js";
import { parseBuilderName } from "../manifest/package-spec.js";
import type { RegistryUrl } from "../manifest/registry-url.js";
import { QuiltError } from "../errors.js";
import { getDefaultSession, type Session } from "../session.js";
import { quoted } from "../untrusted-text.js";
import type { WorkflowChoice } from "../workflows/workflow-validator.js";
import { buildManifest, headerWithMessage, type BuildProgress } from "./build-manifest.js";
import { entriesOfPackage, entriesToAdd, entryToSet } from "./builder-add.js";
import { deleteEntries, moveEntries, putEntries } from "./builder-entries.js";
import {
  changed,
  emptyParts,
  restoreParts,
  snapshotOf,
  type BuilderParts,
  type BuilderSnapshot,
} from "./builder-parts.js";
import {
  builderAsPackage,
  checkBuilderWorkflow,
  pointsAtLocalFiles,
  pushBuilder,
  pushBuilderData,
  pushBuilderManifest,
  sameAsLatest,
  type Pushable,
  type PushManifestOptions,
} from "./builder-push.js";
import { entriesFromManifest, type BuilderEntry } from "./builder-sources.js";
import { formatBuilder } from "./package-display.js";
import { Package, provideBuilderFromPackage } from "./package.js";
import type { PushDataOptions, PushedEntry } from "./push-data.js";

export type { BuilderSnapshot } from "./builder-parts.js";
export type { PushManifestOptions } from "./builder-push.js";

export interface BuilderOptions {
  registry?: string;
  session?: Session;
  /** Where progress lines ("Building manifest...", "Pushing ...") go; default nowhere. */
  output?: (line: string) => void;
}

export class PackageBuilder {
  readonly name: string;
  /** From "ns/name:tag": the tag pushes use when they are given none. */
  readonly defaultTag: string | undefined;
  readonly registry: RegistryUrl;
  readonly session: Session;
  /** Entries, header, build and push state; builder-push.ts updates it too. */
  private readonly parts: BuilderParts = emptyParts();
  private readonly output: (line: string) => void;

  constructor(name: string, opts: BuilderOptions = {}) {
    ({ name: this.name, tag: this.defaultTag } = parseBuilderName(name));
    this.session = opts.session ?? getDefaultSession();
    this.registry = this.session.registryUrl(opts.registry);
    this.output = opts.output ?? (() => {});
  }

  /**
   * A builder holding a package's entries, header and directory metadata, as a new version:
   * of the same package, or of one in `opts.registry` (a push there copies the objects in).
   */
  static fromPackage(pkg: Package, opts: Omit<BuilderOptions, "session"> = {}): PackageBuilder {
    const b = new PackageBuilder(pkg.name, {
      ...opts,
      registry: opts.registry ?? pkg.registry.url,
      session: pkg.session,
    });
    const { header, dirMeta } = pkg.manifest;
    const entries = entriesFromManifest(pkg.manifest.entries, "");
    restoreParts(b.parts, { entries, header, dirMeta });
    return b;
  }

  /** Everything the builder holds, for saving it between processes (see builder-state.ts). */
  toState(): BuilderSnapshot {
    return snapshotOf(this.parts);
  }

  /** What the builder holds, not copied: for reading only (a saver writing a million entries as they come). */
  heldState(): Readonly<Omit<BuilderSnapshot, "entries">> & { entries: Iterable<Readonly<BuilderEntry>> } {
    const { entries, header, dirMeta, built, pushed } = this.parts;
    return { entries: entries.values(), header, dirMeta, built, pushed };
  }

  /** The builder `toState()` described; `name` may carry the default tag ("ns/name:tag"). */
  static fromState(name: string, state: BuilderSnapshot, opts: BuilderOptions = {}): PackageBuilder {
    const b = new PackageBuilder(name, opts);
    restoreParts(b.parts, state);
    return b;
  }

  private changed(): void {
    changed(this.parts);
  }

  private put(entries: BuilderEntry[]): void {
    putEntries(this.parts.entries, entries);
    this.changed();
  }

  /**
   * Adds a local file or directory, an s3:// object or prefix, or another Package.
   * `logicalPrefix` defaults to the directory's (or prefix's) own name; "" is the root.
   */
  async add(source: string | Package, logicalPrefix?: string): Promise<this> {
    this.put(
      source instanceof Package
        ? entriesOfPackage(source.manifest.entries, logicalPrefix)
        : await entriesToAdd(this.session.stores, source, logicalPrefix),
    );
    return this;
  }

  /** Sets one entry from a local file or an s3:// URL, with optional user metadata. */
  async set(key: string, source: string, opts: { meta?: unknown } = {}): Promise<this> {
    const entry = await entryToSet(this.session.stores, key, source, opts.meta);
    this.parts.entries.delete(entry.logicalKey);
    this.put([entry]);
    return this;
  }

  /** User metadata of an entry, or of a directory ("dir/"), or of the package (""). */
  setMeta(keyOrDir: string, meta: unknown): this {
    const value = fromPlain(meta);
    if (keyOrDir === "") this.parts.header.set("user_meta", value);
    else if (keyOrDir.endsWith("/")) this.parts.dirMeta.set(parseLogicalPrefix(keyOrDir), value);
    else {
      const e = this.parts.entries.get(keyOrDir);
      if (!e) throw new QuiltError("ENOTFOUND", `No entry ${quoted(keyOrDir)} in the builder`);
      e.meta = new Map(e.meta);
      e.meta.set("user_meta", value);
    }
    this.changed();
    return this;
  }

  setMessage(message: string | null): this {
    this.parts.header.set("message", message);
    this.changed();
    return this;
  }

  /** Removes an entry, or every entry under a directory prefix. */
  delete(keyOrPrefix: string): this {
    deleteEntries(this.parts.entries, keyOrPrefix);
    this.changed();
    return this;
  }

  /** Moves every entry under `from` to `to`; fails on the first collision unless `overwrite`, changing nothing. */
  moveDirContents(from: string, to: string, opts: { overwrite?: boolean } = {}): this {
    moveEntries(this.parts.entries, from, to, opts.overwrite ?? false);
    this.changed();
    return this;
  }

  /** A new builder with the entries `keep` accepts: same physical objects, nothing downloaded. */
  filter(keep: (entry: { logicalKey: string; size?: number; meta: unknown }) => boolean): PackageBuilder {
    const b = new PackageBuilder(this.name, {
      registry: this.registry.url,
      session: this.session,
      output: this.output,
    });
    const { header, dirMeta } = this.parts;
    const entries = [...this.parts.entries.values()].filter((e) =>
      keep({ logicalKey: e.logicalKey, size: e.size, meta: e.meta }),
    );
    restoreParts(b.parts, { entries, header, dirMeta });
    return b;
  }

  get size(): number {
    return this.parts.entries.size;
  }

  keys(): string[] {
    return [...this.parts.entries.keys()].sort();
  }

  get topHash(): string | undefined {
    return this.parts.built?.topHash;
  }

  /** Entries pointing at local files outside the registry (data in a local registry counts as pushed). */
  hasLocalFiles(): boolean {
    return pointsAtLocalFiles(this.registry, this.parts.entries.values());
  }

  /** Hashes what is not hashed yet and returns the top hash. */
  async buildManifest(opts: { onProgress?: (p: BuildProgress) => void } = {}): Promise<string> {
    this.output("Building manifest...");
    const { manifest, hashed } = await buildManifest(
      this.session.stores,
      headerWithMessage(this.parts.header),
      this.parts.dirMeta,
      [...this.parts.entries.values()],
      opts.onProgress,
    );
    for (const e of hashed) this.parts.entries.set(e.logicalKey, e);
    this.parts.built = manifest;
    this.output(`Tophash: ${manifest.topHash}`);
    return manifest.topHash;
  }

  async pushData(opts: PushDataOptions = {}): Promise<PushedEntry[]> {
    return pushBuilderData(this.pushable(), opts);
  }

  /**
   * Checks the builder against the registry's workflow (.quilt/workflows/config.yml), as
   * quilt3's push and build do, and records the workflow and the message in the header.
   * `workflow`: an ID; undefined for the config's default; null for none (quilt3's None).
   * Pushes call it; call it first to refuse a push before any byte is hashed or copied.
   */
  async checkWorkflow(opts: { workflow?: WorkflowChoice; message?: string } = {}): Promise<void> {
    return checkBuilderWorkflow(this.pushable(), opts);
  }

  /**
   * Checks the workflow, builds if needed, refuses local pointers unless forced, writes
   * manifest and pointers. With `dedupe`, a version equal to the registry's latest (workflow
   * included, as the top hash covers it) is not pushed again (no new timestamp): the latest
   * is returned, as quilt3's `push(dedupe=True)`.
   */
  async pushManifest(options: PushManifestOptions = {}): Promise<Package> {
    return pushBuilderManifest(this.pushable(), options);
  }

  /**
   * Checks the workflow first (a refused package copies nothing), then pushData and
   * pushManifest; with `dedupe` nothing is copied when the latest is this version already.
   */
  async pushDataAndManifest(opts: PushDataOptions & PushManifestOptions = {}): Promise<Package> {
    return pushBuilder(this.pushable(), opts);
  }

  /**
   * The registry's latest version of this package when it is the version built here (built
   * first if needed; the top hash does not depend on where the bytes are, so this is known
   * before any data is copied), else undefined.
   */
  async sameAsLatest(): Promise<Package | undefined> {
    return sameAsLatest(this.pushable());
  }

  /** What builder-push.ts works on: this builder, its parts and its output. */
  private pushable(): Pushable {
    return {
      name: this.name,
      defaultTag: this.defaultTag,
      registry: this.registry,
      session: this.session,
      parts: this.parts,
      output: this.output,
      buildManifest: () => this.buildManifest(),
      hasLocalFiles: () => this.hasLocalFiles(),
    };
  }

  /** The builder as a Package: refused while it points at local files or is not pushed, unless allowed. */
  async asPackage(opts: { allowLocalFiles?: boolean; allowLocalManifest?: boolean } = {}): Promise<Package> {
    return builderAsPackage(this.pushable(), opts);
  }

  toString(): string {
    const { built, pushed } = this.parts;
    const tag = pushed?.tag ?? this.defaultTag;
    return formatBuilder({
      name: tag !== undefined ? `${this.name}:${tag}` : this.name,
      entries: this.parts.entries.values(),
      topHash: built?.topHash,
      manifest: pushed?.url ?? (built ? "local" : undefined),
    });
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

// Package.asPackageBuilder() (and filter, sample) build through this; see package.ts for why.
provideBuilderFromPackage((pkg, opts) => PackageBuilder.fromPackage(pkg, opts));
