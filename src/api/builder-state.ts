// A PackageBuilder as plain JSON, so a builder can live across processes (the CLI's
// workspace keeps one in .quilt/workspace.json between commands). Metadata, hashes and
// the header are stored as manifest-JSON text, because JSON.stringify would lose what a
// manifest must keep byte for byte: floats like 1.0, integers beyond 2^53, key order.
// A hashed local file carries the stat it had when hashed: if it was edited since, its
// hash is dropped on restore (and with it the built manifest), so a stale hash never
// reaches a manifest.
import { EMPTY_META } from "../manifest/compact-entry.js";
import { stat } from "node:fs/promises";
import { QuiltError, errnoCode } from "../errors.js";
import { parseJson } from "../manifest/json-parse.js";
import { isJsonObject, type JsonObject, type JsonValue } from "../manifest/json-value.js";
import { PhysicalKey } from "../manifest/physical-key.js";
import { manifestJson } from "../manifest/python-json.js";
import { shortHash } from "../manifest/version-label.js";
import { headerWithMessage, manifestFromHashed } from "./build-manifest.js";
import type { BuilderEntry } from "./builder-sources.js";
import { PackageBuilder, type BuilderOptions, type BuilderSnapshot } from "./package-builder.js";
import { quoted } from "../untrusted-text.js";

export const BUILDER_STATE_FORMAT = 1;

/** What a local file looked like when it was hashed. */
export interface FileStamp {
  size: number;
  mtimeMs: number;
  ino: number;
}

export interface EntryState {
  key: string;
  /** Physical key URL: s3://bucket/key?versionId=... or file:///abs/path. */
  source: string;
  size?: number;
  /** Manifest-JSON text of the hash object ({"type": ..., "value": ...}). */
  hash?: string;
  /** Manifest-JSON text of the entry's meta object (user metadata under "user_meta"). */
  meta: string;
  checksumSha256?: string;
  /** For a hashed local file: its stat when hashed (see restoreBuilder). */
  stamp?: FileStamp;
}

export interface BuilderState {
  format: typeof BUILDER_STATE_FORMAT;
  /** "ns/name", or "ns/name:tag" when pushes default to a tag. */
  name: string;
  registry: string;
  /** Manifest-JSON text of the header (version, message, user_meta, ...). */
  header: string;
  /** Directory key ("a/b/") and the manifest-JSON text of its metadata. */
  dirMeta: [string, string][];
  entries: EntryState[];
  /** Top hash of the last build, null when the builder changed since (or never built). */
  topHash: string | null;
  /** Where the last pushed manifest went, null when the builder changed since. */
  pushed: { url: string; tag?: string } | null;
}

export interface RestoredBuilder {
  builder: PackageBuilder;
  /** Local files edited since they were hashed: their hashes were dropped. */
  staleFiles: string[];
  /** Recoverable inconsistencies found in the state (the build was dropped). */
  warnings: string[];
  /** Stamps of the local files whose hash still holds: give them back to saveBuilderState. */
  stamps: Map<string, FileStamp>;
}

async function stampOf(path: string): Promise<FileStamp | undefined> {
  try {
    const st = await stat(path);
    return { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino };
  } catch (err) {
    if (errnoCode(err) === "ENOENT" || errnoCode(err) === "ENOTDIR") return undefined;
    throw err;
  }
}

function sameStamp(a: FileStamp | undefined, b: FileStamp | undefined): boolean {
  return (
    a !== undefined && b !== undefined && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ino === b.ino
  );
}

/** Key of a stamp: the file and the hash it was stamped for. */
function stampKey(source: string, hashText: string): string {
  return source + "\0" + hashText;
}

/** The builder's state without its entries (see builderStateEntries for those). */
export type BuilderStateHead = Omit<BuilderState, "entries">;

/**
 * The builder as JSON-safe state. `stamps` come from restoreBuilder: a local file whose
 * hash did not change since keeps the stamp it had when hashed (stamping it again now
 * would bless an edit made while this process ran); newly hashed files are stamped now.
 */
export async function saveBuilderState(
  builder: PackageBuilder,
  opts: { stamps?: ReadonlyMap<string, FileStamp> } = {},
): Promise<BuilderState> {
  const entries: EntryState[] = [];
  for await (const e of builderStateEntries(builder, opts)) entries.push(e);
  const { topHash, pushed, ...first } = builderStateHead(builder);
  return { ...first, entries, topHash, pushed };
}

/** Everything of the state but the entries: small, whatever the size of the package. */
export function builderStateHead(builder: PackageBuilder): BuilderStateHead {
  const { header, dirMeta, built, pushed } = builder.heldState();
  return {
    format: BUILDER_STATE_FORMAT,
    name: builder.defaultTag === undefined ? builder.name : `${builder.name}:${builder.defaultTag}`,
    registry: builder.registry.url,
    header: manifestJson(header),
    dirMeta: [...dirMeta].map(([k, v]) => [k, manifestJson(v)]),
    topHash: built?.topHash ?? null,
    pushed: built && pushed ? { ...pushed } : null,
  };
}

/**
 * The entries' states one at a time, from the builder's entries as held (not copied): a
 * saver that writes each as it comes holds one, not a million (see saveBuilderState for `stamps`).
 */
export async function* builderStateEntries(
  builder: PackageBuilder,
  opts: { stamps?: ReadonlyMap<string, FileStamp> } = {},
): AsyncGenerator<EntryState> {
  const previous = opts.stamps ?? new Map<string, FileStamp>();
  for (const e of builder.heldState().entries) {
    const source = e.source.toString();
    const hash = e.hash && manifestJson(e.hash);
    const out: EntryState = { key: e.logicalKey, source, meta: manifestJson(e.meta) };
    if (e.size !== undefined) out.size = e.size;
    if (hash !== undefined) out.hash = hash;
    if (e.checksumSha256 !== undefined) out.checksumSha256 = e.checksumSha256;
    if (e.source.isLocal() && hash !== undefined) {
      const stamp = previous.get(stampKey(source, hash)) ?? (await stampOf(e.source.path));
      if (stamp) out.stamp = stamp;
    }
    yield out;
  }
}

function bad(what: string): QuiltError {
  return new QuiltError("EBADMANIFEST", `Invalid builder state: ${what}`, {
    hint: "the state file was edited or damaged; start again with a new workspace",
  });
}

function jsonObject(text: unknown, what: string): JsonObject {
  if (typeof text !== "string") throw bad(`${what} is not a JSON text`);
  let v: JsonValue;
  try {
    v = parseJson(text);
  } catch (err) {
    throw bad(`${what}: ${(err as Error).message}`);
  }
  if (!isJsonObject(v)) throw bad(`${what} is not a JSON object`);
  return v;
}

function jsonValue(text: unknown, what: string): JsonValue {
  if (typeof text !== "string") throw bad(`${what} is not a JSON text`);
  try {
    return parseJson(text);
  } catch (err) {
    throw bad(`${what}: ${(err as Error).message}`);
  }
}

/** Checks the shape of state read from a file (it may have been edited or cut short). */
export function checkBuilderState(v: unknown): BuilderState {
  if (typeof v !== "object" || v === null) throw bad("not an object");
  const s = v as Partial<BuilderState>;
  if (s.format !== BUILDER_STATE_FORMAT) throw bad(`unknown format ${quoted(s.format)}`);
  if (typeof s.name !== "string" || typeof s.registry !== "string" || typeof s.header !== "string")
    throw bad("name, registry or header missing");
  if (!Array.isArray(s.entries) || !Array.isArray(s.dirMeta)) throw bad("entries or dirMeta missing");
  for (const e of s.entries as unknown[]) {
    const x = e as Partial<EntryState>;
    if (
      typeof x !== "object" ||
      x === null ||
      typeof x.key !== "string" ||
      typeof x.source !== "string" ||
      typeof x.meta !== "string"
    )
      throw bad("an entry lacks key, source or meta");
    if (x.size !== undefined && (typeof x.size !== "number" || !Number.isSafeInteger(x.size) || x.size < 0))
      throw bad(`entry ${quoted(x.key)} has an invalid size`);
  }
  if (s.topHash !== null && (typeof s.topHash !== "string" || !/^[0-9a-f]{64}$/.test(s.topHash)))
    throw bad("invalid topHash");
  if (s.pushed !== null && (typeof s.pushed !== "object" || typeof s.pushed?.url !== "string"))
    throw bad("invalid pushed");
  return s as BuilderState;
}

/**
 * The builder `state` describes. Hashed local files are stat'ed: one edited since its
 * hash was taken loses the hash (listed in staleFiles), and the build and push are
 * dropped with it. The build is remade from the hashed entries and must give the same
 * top hash, else it is dropped too (a warning says so).
 */
export async function restoreBuilder(
  state: BuilderState,
  opts: Omit<BuilderOptions, "registry"> = {},
): Promise<RestoredBuilder> {
  checkBuilderState(state);
  const staleFiles: string[] = [];
  const warnings: string[] = [];
  const stamps = new Map<string, FileStamp>();
  const entries: BuilderEntry[] = [];
  for (const e of state.entries) {
    let source: PhysicalKey;
    try {
      source = PhysicalKey.fromUrl(e.source);
    } catch (err) {
      throw bad(`entry ${quoted(e.key)}: ${(err as Error).message}`);
    }
    // Most entries have no metadata: they share the one frozen empty object (setMeta copies it).
    const meta = e.meta === "{}" ? EMPTY_META : jsonObject(e.meta, `meta of ${quoted(e.key)}`);
    const entry: BuilderEntry = { logicalKey: e.key, source, meta };
    if (e.size !== undefined) entry.size = e.size;
    if (e.hash !== undefined) entry.hash = jsonObject(e.hash, `hash of ${quoted(e.key)}`);
    if (e.checksumSha256 !== undefined) entry.checksumSha256 = e.checksumSha256;
    if (source.isLocal() && e.hash !== undefined) {
      if (e.stamp !== undefined && sameStamp(e.stamp, await stampOf(source.path))) {
        stamps.set(stampKey(e.source, e.hash), e.stamp);
      } else {
        // Edited (or gone) since hashed: hash and size are re-taken by the next build.
        delete entry.hash;
        delete entry.size;
        staleFiles.push(source.path);
      }
    }
    entries.push(entry);
  }
  const header = jsonObject(state.header, "header");
  const dirMeta = new Map<string, JsonValue>(
    state.dirMeta.map(([k, v]) => [k, jsonValue(v, `metadata of ${quoted(k)}`)]),
  );
  const snapshot: BuilderSnapshot = { entries, header, dirMeta, built: undefined, pushed: undefined };
  if (state.topHash !== null && staleFiles.length === 0) {
    if (entries.every((e) => e.hash !== undefined && e.size !== undefined)) {
      const built = manifestFromHashed(headerWithMessage(header), dirMeta, entries);
      if (built.topHash === state.topHash) {
        snapshot.built = built;
        if (state.pushed) snapshot.pushed = { ...state.pushed };
      } else {
        warnings.push(
          `the saved build ${shortHash(state.topHash)} does not match its entries (${shortHash(built.topHash)}); build the manifest again`,
        );
      }
    } else {
      warnings.push(
        `the saved build ${shortHash(state.topHash)} has entries without a hash; build the manifest again`,
      );
    }
  }
  const builder = PackageBuilder.fromState(state.name, snapshot, { ...opts, registry: state.registry });
  return { builder, staleFiles, warnings, stamps };
}
