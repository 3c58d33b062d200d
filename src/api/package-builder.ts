// PackageBuilder: the mutable side. Collects entries from local files, S3 and other
// packages, renames and annotates them, builds the manifest, pushes data and manifest.
// Safe by default: a manifest pointing at local files, or one not pushed, is not a
// Package unless the caller says so explicitly.
import { inspect } from "node:util";
import { QuiltError } from "../errors.js";
import { translatingOsErrors } from "../os-errors.js";
import { fromPlain, type JsonObject, type JsonValue } from "../manifest/json-value.js";
import { parseLogicalKey, parseLogicalPrefix } from "../manifest/logical-key.js";
import type { Manifest } from "../manifest/manifest.js";
import { isValidPackageName, isValidTag } from "../manifest/package-spec.js";
import { shortHash } from "../manifest/version-label.js";
import type { RegistryUrl } from "../manifest/registry-url.js";
import { LATEST } from "../storage/registry.js";
import {
  buildManifest,
  headerWithMessage,
  manifestFromHashed,
  type BuildProgress,
} from "./build-manifest.js";
import {
  entriesFromLocal,
  entriesFromManifest,
  entriesFromS3,
  type BuilderEntry,
} from "./builder-sources.js";
import { getDefaultSession, type Session } from "../session.js";
import { displaySource, foldContents, formatObject } from "./package-display.js";
import { Package, provideBuilderFromPackage } from "./package.js";
import { pushData, type PushDataOptions, type PushedEntry } from "./push-data.js";
import { pushReport } from "./push-report.js";
import { quoted } from "../untrusted-text.js";
import { manifestJson } from "../manifest/python-json.js";
import type { WorkflowChoice } from "../workflows/workflow-validator.js";
import { headerWithWorkflow } from "./builder-workflow.js";

export interface PushManifestOptions {
  tag?: string;
  message?: string;
  forceAllowLocalFiles?: boolean;
  /** Push nothing when the registry's latest is this version already (quilt3's `dedupe`). */
  dedupe?: boolean;
  /** The registry's workflow to check: an ID; undefined for its default; null for none (quilt3's None). */
  workflow?: WorkflowChoice;
}

export interface BuilderOptions {
  registry?: string;
  session?: Session;
  /** Where progress lines ("Building manifest...", "Pushing ...") go; default nowhere. */
  output?: (line: string) => void;
}

/** A builder's whole state: what toState() returns and fromState() takes. */
export interface BuilderSnapshot {
  entries: BuilderEntry[];
  header: JsonObject;
  dirMeta: Map<string, JsonValue>;
  /** The manifest of the last build, unless something changed since. */
  built: Manifest | undefined;
  /** Where the last pushManifest() put it, unless something changed since. */
  pushed: { tag?: string; url: string } | undefined;
}

export const LOCAL_FILES_ERROR =
  "Manifest contains pointers to local files. Use pushData() to first push those files to s3 or use allowLocalFiles: true if this is intentional";
export const LOCAL_MANIFEST_ERROR =
  "The manifest has not been pushed to a remote repository. Use pushManifest() to first push the manifest to s3 or use allowLocalManifest: true if this is intentional";

export class PackageBuilder {
  readonly name: string;
  /** From "ns/name:tag": the tag pushes use when they are given none. */
  readonly defaultTag: string | undefined;
  readonly registry: RegistryUrl;
  readonly session: Session;
  private entries = new Map<string, BuilderEntry>();
  // "message" is added where quilt3 adds it (see headerWithMessage).
  private header: JsonObject = new Map<string, JsonValue>([["version", "v0"]]);
  private dirMeta = new Map<string, JsonValue>();
  private built: Manifest | undefined;
  private pushed: { tag?: string; url: string } | undefined;
  /** The workflow and message checkWorkflow() passed with, until something changes. */
  private checked: { workflow: WorkflowChoice; message: string | undefined } | undefined;
  private readonly output: (line: string) => void;

  constructor(name: string, opts: BuilderOptions = {}) {
    const colon = name.indexOf(":");
    const bare = colon < 0 ? name : name.slice(0, colon);
    const tag = colon < 0 ? undefined : name.slice(colon + 1);
    if (!isValidPackageName(bare) || (tag !== undefined && !isValidTag(tag))) {
      throw new QuiltError("EBADSPEC", `Invalid package name ${quoted(name)}`, {
        hint: "a package name is namespace/name[:tag], e.g. bucket/dataset:v0",
      });
    }
    this.name = bare;
    this.defaultTag = tag;
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
    b.header = new Map(pkg.manifest.header);
    b.dirMeta = new Map(pkg.manifest.dirMeta);
    for (const e of entriesFromManifest(pkg.manifest.entries, "")) b.entries.set(e.logicalKey, e);
    return b;
  }

  /** Everything the builder holds, for saving it between processes (see builder-state.ts). */
  toState(): BuilderSnapshot {
    return {
      entries: [...this.entries.values()].map((e) => ({ ...e })),
      header: new Map(this.header),
      dirMeta: new Map(this.dirMeta),
      built: this.built,
      pushed: this.pushed && { ...this.pushed },
    };
  }

  /** The builder `toState()` described; `name` may carry the default tag ("ns/name:tag"). */
  static fromState(name: string, state: BuilderSnapshot, opts: BuilderOptions = {}): PackageBuilder {
    const b = new PackageBuilder(name, opts);
    b.header = new Map(state.header);
    b.dirMeta = new Map(state.dirMeta);
    for (const e of state.entries) b.entries.set(e.logicalKey, { ...e });
    b.built = state.built;
    b.pushed = state.pushed && { ...state.pushed };
    return b;
  }

  private changed(): void {
    this.built = undefined;
    this.pushed = undefined;
    this.checked = undefined;
  }

  /**
   * Adds entries, replacing those with the same key. Refuses a key that is a directory of
   * an entry already there, or under one that is a file: one pass over the keys' parent
   * directories (a pair-wise check would cost a million squared for a million entries).
   */
  private put(entries: BuilderEntry[]): void {
    if (this.entries.size > 0) {
      const dirs = new Set<string>();
      for (const k of this.entries.keys()) for (const d of parentKeys(k)) dirs.add(d);
      for (const e of entries) {
        const k = e.logicalKey;
        const fileAbove = parentKeys(k).find((p) => this.entries.has(p));
        const clash =
          fileAbove ??
          (dirs.has(k) ? [...this.entries.keys()].find((x) => x.startsWith(k + "/")) : undefined);
        if (clash !== undefined) {
          throw new QuiltError(
            "EUSAGE",
            `Cannot add ${quoted(k)}: ${quoted(clash)} is in the way (a path cannot be both a file and a directory)`,
          );
        }
      }
    }
    for (const e of entries) this.entries.set(e.logicalKey, e);
    this.changed();
  }

  /**
   * Adds a local file or directory, an s3:// object or prefix, or another Package.
   * `logicalPrefix` defaults to the directory's (or prefix's) own name; "" is the root.
   */
  async add(source: string | Package, logicalPrefix?: string): Promise<this> {
    if (source instanceof Package) {
      this.put(
        entriesFromManifest(
          source.manifest.entries,
          logicalPrefix === undefined ? "" : parseLogicalPrefix(logicalPrefix),
        ),
      );
      return this;
    }
    const entries = source.startsWith("s3://")
      ? await entriesFromS3(this.session.stores, source, logicalPrefix)
      : await translatingOsErrors(() => entriesFromLocal(source, logicalPrefix));
    this.put(entries);
    return this;
  }

  /** Sets one entry from a local file or an s3:// URL, with optional user metadata. */
  async set(key: string, source: string, opts: { meta?: unknown } = {}): Promise<this> {
    const k = parseLogicalKey(key);
    const [entry] = source.startsWith("s3://")
      ? await entriesFromS3(this.session.stores, source, k)
      : await entriesFromLocal(source, k);
    if (!entry || entry.logicalKey !== k)
      throw new QuiltError("EUSAGE", `set() takes a single file: ${source}`);
    if (opts.meta !== undefined) entry.meta = new Map([["user_meta", fromPlain(opts.meta)]]);
    this.entries.delete(k);
    this.put([entry]);
    return this;
  }

  /** User metadata of an entry, or of a directory ("dir/"), or of the package (""). */
  setMeta(keyOrDir: string, meta: unknown): this {
    const value = fromPlain(meta);
    if (keyOrDir === "") this.header.set("user_meta", value);
    else if (keyOrDir.endsWith("/")) this.dirMeta.set(parseLogicalPrefix(keyOrDir), value);
    else {
      const e = this.entries.get(keyOrDir);
      if (!e) throw new QuiltError("ENOTFOUND", `No entry ${quoted(keyOrDir)} in the builder`);
      e.meta = new Map(e.meta);
      e.meta.set("user_meta", value);
    }
    this.changed();
    return this;
  }

  setMessage(message: string | null): this {
    this.header.set("message", message);
    this.changed();
    return this;
  }

  /** Removes an entry, or every entry under a directory prefix. */
  delete(keyOrPrefix: string): this {
    const dir = keyOrPrefix.endsWith("/") ? keyOrPrefix : keyOrPrefix + "/";
    let n = 0;
    for (const k of [...this.entries.keys()]) {
      if (k === keyOrPrefix || k.startsWith(dir)) {
        this.entries.delete(k);
        n++;
      }
    }
    if (n === 0) throw new QuiltError("ENOTFOUND", `Nothing at ${quoted(keyOrPrefix)} to delete`);
    this.changed();
    return this;
  }

  /** Moves every entry under `from` to `to`; fails on the first collision unless `overwrite`, changing nothing. */
  moveDirContents(from: string, to: string, opts: { overwrite?: boolean } = {}): this {
    const src = parseLogicalPrefix(from);
    const dst = parseLogicalPrefix(to);
    const moves = [...this.entries.values()]
      .filter((e) => e.logicalKey.startsWith(src))
      .map((e) => ({ e, key: dst + e.logicalKey.slice(src.length) }));
    if (moves.length === 0) throw new QuiltError("ENOTFOUND", `No entries under ${quoted(src)}`);
    const moving = new Set(moves.map((m) => m.e.logicalKey));
    const staying = [...this.entries.keys()].filter((k) => !moving.has(k));
    for (const m of moves) {
      const clash = staying.find((k) => k.startsWith(m.key + "/") || m.key.startsWith(k + "/"));
      if (clash !== undefined) {
        throw new QuiltError(
          "EUSAGE",
          `Cannot move ${quoted(m.e.logicalKey)} to ${quoted(m.key)}: ${quoted(clash)} is in the way (a path cannot be both a file and a directory)`,
        );
      }
    }
    if (!opts.overwrite) {
      for (const m of moves) {
        if (this.entries.has(m.key) && !moving.has(m.key)) {
          throw new QuiltError(
            "EUSAGE",
            `Collision detected. moving ${quoted(m.e.logicalKey)} to ${quoted(m.key)}, but ${quoted(m.key)} already exists. Use overwrite: true if you would like to replace ${quoted(m.key)} with ${quoted(m.e.logicalKey)}.`,
          );
        }
      }
    }
    for (const m of moves) this.entries.delete(m.e.logicalKey);
    for (const m of moves) this.entries.set(m.key, { ...m.e, logicalKey: parseLogicalKey(m.key) });
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
    b.header = new Map(this.header);
    b.dirMeta = new Map(this.dirMeta);
    for (const e of this.entries.values())
      if (keep({ logicalKey: e.logicalKey, size: e.size, meta: e.meta }))
        b.entries.set(e.logicalKey, { ...e });
    return b;
  }

  get size(): number {
    return this.entries.size;
  }

  keys(): string[] {
    return [...this.entries.keys()].sort();
  }

  get topHash(): string | undefined {
    return this.built?.topHash;
  }

  /** Entries pointing at local files outside the registry (data in a local registry counts as pushed). */
  hasLocalFiles(): boolean {
    const inRegistry = this.registry.kind === "file" ? this.registry.dir.replace(/\/$/, "") + "/" : undefined;
    return [...this.entries.values()].some(
      (e) => e.source.isLocal() && (inRegistry === undefined || !e.source.path.startsWith(inRegistry)),
    );
  }

  /** Hashes what is not hashed yet and returns the top hash. */
  async buildManifest(opts: { onProgress?: (p: BuildProgress) => void } = {}): Promise<string> {
    this.output("Building manifest...");
    const { manifest, hashed } = await buildManifest(
      this.session.stores,
      headerWithMessage(this.header),
      this.dirMeta,
      [...this.entries.values()],
      opts.onProgress,
    );
    for (const e of hashed) this.entries.set(e.logicalKey, e);
    this.built = manifest;
    this.output(`Tophash: ${manifest.topHash}`);
    return manifest.topHash;
  }

  async pushData(opts: PushDataOptions = {}): Promise<PushedEntry[]> {
    const registry = this.session.registry(this.registry);
    const before = this.built;
    const pushed = await pushData(this.session.stores, registry, this.name, [...this.entries.values()], opts);
    for (const line of pushReport(pushed)) this.output(line);
    // Physical keys changed but hashes did not, so the top hash stays; the manifest is re-made, not re-hashed.
    const moved = pushed.some((p) => !p.from.equals(p.entry.source));
    if (before && moved)
      this.built = manifestFromHashed(headerWithMessage(this.header), this.dirMeta, [
        ...this.entries.values(),
      ]);
    if (moved) this.pushed = undefined;
    return pushed;
  }

  /**
   * Checks the builder against the registry's workflow (.quilt/workflows/config.yml), as
   * quilt3's push and build do, and records the workflow and the message in the header.
   * `workflow`: an ID; undefined for the config's default; null for none (quilt3's None).
   * Pushes call it; call it first to refuse a push before any byte is hashed or copied.
   */
  async checkWorkflow(opts: { workflow?: WorkflowChoice; message?: string } = {}): Promise<void> {
    if (this.checked && this.checked.workflow === opts.workflow && this.checked.message === opts.message)
      return;
    const current = this.header.get("message");
    const header = await headerWithWorkflow(
      this.session.stores,
      this.registry,
      this.name,
      this.header,
      [...this.entries.values()],
      { workflow: opts.workflow, message: opts.message ?? (typeof current === "string" ? current : null) },
    );
    if (opts.message !== undefined || !header.has("message")) header.set("message", opts.message ?? null);
    if (manifestJson(header) !== manifestJson(this.header)) {
      this.header = header;
      this.pushed = undefined;
      // Only the header changed: the entries keep their hashes, so no file is hashed again.
      if (this.built) this.built = manifestFromHashed(header, this.dirMeta, [...this.entries.values()]);
    }
    this.checked = { workflow: opts.workflow, message: opts.message };
  }

  /**
   * Checks the workflow, builds if needed, refuses local pointers unless forced, writes
   * manifest and pointers. With `dedupe`, a version equal to the registry's latest (workflow
   * included, as the top hash covers it) is not pushed again (no new timestamp): the latest
   * is returned, as quilt3's `push(dedupe=True)`.
   */
  async pushManifest(options: PushManifestOptions = {}): Promise<Package> {
    const tag = options.tag ?? this.defaultTag;
    const opts = { ...options, ...(tag !== undefined && { tag }) };
    if (this.hasLocalFiles() && !opts.forceAllowLocalFiles) {
      throw new QuiltError(
        "EUSAGE",
        "Manifest contains pointers to local files. Use pushData() to first push those files to s3 or forceAllowLocalFiles: true if this is intentional",
      );
    }
    await this.checkWorkflow({ workflow: opts.workflow, message: opts.message });
    if (!this.built) await this.buildManifest();
    const manifest = this.built as Manifest;
    const registry = this.session.registry(this.registry);
    if (opts.dedupe) {
      const latest = await this.sameAsLatest();
      if (latest) return latest;
    }
    const url = registry.manifestUrl(this.name, manifest.topHash);
    this.output(`Pushing manifest to ${url}`);
    await registry.pushManifest(this.name, manifest, { ...(opts.tag !== undefined && { tag: opts.tag }) });
    if (opts.tag !== undefined)
      this.output(`Linking ${this.name}:${opts.tag} to manifest ${shortHash(manifest.topHash)}`);
    this.pushed = { url, ...(opts.tag !== undefined && { tag: opts.tag }) };
    return Package.fromManifest(this.session, this.registry, this.name, opts.tag ?? "latest", manifest, url);
  }

  /**
   * Checks the workflow first (a refused package copies nothing), then pushData and
   * pushManifest; with `dedupe` nothing is copied when the latest is this version already.
   */
  async pushDataAndManifest(opts: PushDataOptions & PushManifestOptions = {}): Promise<Package> {
    await this.checkWorkflow({ workflow: opts.workflow, message: opts.message });
    if (opts.dedupe) {
      const latest = await this.sameAsLatest();
      if (latest) return latest;
    }
    await this.pushData(opts);
    return this.pushManifest({
      ...(opts.tag !== undefined && { tag: opts.tag }),
      ...(opts.message !== undefined && { message: opts.message }),
      workflow: opts.workflow,
    });
  }

  /**
   * The registry's latest version of this package when it is the version built here (built
   * first if needed; the top hash does not depend on where the bytes are, so this is known
   * before any data is copied), else undefined.
   */
  async sameAsLatest(): Promise<Package | undefined> {
    const topHash = this.built?.topHash ?? (await this.buildManifest());
    const registry = this.session.registry(this.registry);
    const latest = await registry.readPointer(this.name, LATEST);
    if (latest?.topHash !== topHash) return undefined;
    this.output(
      `Skipping since package with hash ${topHash} already exists at the destination and dedupe parameter is true.`,
    );
    const manifest = await registry.loadManifest(latest);
    const url = registry.manifestUrl(this.name, topHash, latest.layout);
    return Package.fromManifest(this.session, this.registry, this.name, LATEST, manifest, url);
  }

  /** The builder as a Package: refused while it points at local files or is not pushed, unless allowed. */
  async asPackage(opts: { allowLocalFiles?: boolean; allowLocalManifest?: boolean } = {}): Promise<Package> {
    if (this.hasLocalFiles() && !opts.allowLocalFiles) throw new QuiltError("EUSAGE", LOCAL_FILES_ERROR);
    if (!this.pushed && !opts.allowLocalManifest) throw new QuiltError("EUSAGE", LOCAL_MANIFEST_ERROR);
    if (!this.built) await this.buildManifest();
    const manifest = this.built as Manifest;
    return Package.fromManifest(
      this.session,
      this.registry,
      this.name,
      this.pushed?.tag,
      manifest,
      this.pushed?.url ?? "local",
    );
  }

  toString(): string {
    const items = [...this.entries.values()]
      .map((e) => ({ key: e.logicalKey, source: displaySource(e.source) }))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return formatObject(
      "PackageBuilder",
      [
        [
          "name",
          (this.pushed?.tag ?? this.defaultTag) !== undefined
            ? `${this.name}:${this.pushed?.tag ?? this.defaultTag}`
            : this.name,
        ],
        ["tophash", this.built?.topHash ?? "pre-manifest"],
        ["manifest", this.pushed?.url ?? (this.built ? "local" : "pre-manifest")],
      ],
      foldContents(items),
    );
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

/** "a", "a/b" for the key "a/b/c": the keys that would be files above it. */
function parentKeys(key: string): string[] {
  const out: string[] = [];
  for (let i = key.indexOf("/"); i >= 0; i = key.indexOf("/", i + 1)) out.push(key.slice(0, i));
  return out;
}

// Package.asPackageBuilder() (and filter, sample) build through this; see package.ts for why.
provideBuilderFromPackage((pkg, opts) => PackageBuilder.fromPackage(pkg, opts));
