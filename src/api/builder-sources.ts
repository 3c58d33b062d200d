// Where a builder's entries come from: local files and directories (honouring a
// .quiltignore in gitignore syntax), S3 objects and prefixes (listed with their current
// versions, never downloaded), and other packages (merged with their hashes).
import { lstat, readFile, readdir } from "node:fs/promises";
import { basename, join, relative, resolve, sep } from "node:path";
import ignore, { type Ignore } from "ignore";
import { QuiltError, errnoCode } from "../errors.js";
import type { JsonObject } from "../manifest/json-value.js";
import { EMPTY_META } from "../manifest/compact-entry.js";
import { logicalKeyProblem } from "../manifest/logical-key.js";
import type { ManifestEntry } from "../manifest/manifest.js";
import { PhysicalKey } from "../manifest/physical-key.js";
import type { Stores } from "../storage/stores.js";
import { forEachLimited } from "../limiter.js";
import { STATE_DIR } from "./safe-path.js";
import { quoted } from "../untrusted-text.js";

export interface BuilderEntry {
  logicalKey: string;
  source: PhysicalKey;
  /** Known for entries from packages and S3 listings; local files are sized when hashed. */
  size?: number;
  /** Known for entries from packages, or from an S3 checksum; else computed by buildManifest. */
  hash?: JsonObject;
  meta: JsonObject;
  /** S3 full-object SHA-256 (base64) when the store has one: lets the build skip reading the object. */
  checksumSha256?: string;
}

export const QUILTIGNORE = ".quiltignore";
/** HEADs in flight while adding an S3 prefix whose listing did not give versions. */
const HEAD_CONCURRENCY = 16;

function checkKey(key: string, from: string): string {
  const problem = logicalKeyProblem(key);
  if (problem !== null) throw new QuiltError("EBADKEY", `Cannot add ${from} as ${quoted(key)}: ${problem}`);
  return key;
}

async function loadIgnore(dir: string): Promise<Ignore> {
  const ig = ignore();
  try {
    ig.add(await readFile(join(dir, QUILTIGNORE), "utf8"));
  } catch (err) {
    if (errnoCode(err) !== "ENOENT") throw err;
  }
  return ig;
}

/**
 * Entries for a local file or directory. `prefix` is where it goes ("" = the root); by
 * default a file keeps its name and a directory goes under its own name.
 */
export async function entriesFromLocal(path: string, prefixOrKey?: string): Promise<BuilderEntry[]> {
  const abs = resolve(path);
  const st = await lstat(abs).catch((err: unknown) => {
    if (errnoCode(err) === "ENOENT")
      throw new QuiltError("ENOTFOUND", `${path} does not exist`, { hint: "check the path" });
    throw err;
  });
  if (st.isFile()) {
    const p = prefixOrKey ?? "";
    const key = p === "" || p.endsWith("/") ? p + basename(abs) : p;
    return [{ logicalKey: checkKey(key, path), source: PhysicalKey.local(abs), meta: new Map() }];
  }
  if (!st.isDirectory()) throw new QuiltError("EUSAGE", `${path} is not a regular file or a directory`);
  const prefix = prefixOrKey === undefined ? defaultPrefix(path) : asPrefix(prefixOrKey);
  const ig = await loadIgnore(abs);
  const out: BuilderEntry[] = [];
  const walk = async (dir: string): Promise<void> => {
    const names = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const d of names) {
      const full = join(dir, d.name);
      const rel = relative(abs, full).split(sep).join("/");
      // Our own state (a workspace's or an installed directory's .quilt/, at any depth) is
      // never part of a package; the .quiltignore itself is, as in quilt3, so the workspace
      // can be rebuilt the same way.
      if (d.name === STATE_DIR && d.isDirectory() && (rel === STATE_DIR || (await holdsOurState(full))))
        continue;
      if (ig.ignores(d.isDirectory() ? rel + "/" : rel)) continue;
      if (d.isDirectory()) await walk(full);
      else if (d.isFile())
        out.push({
          logicalKey: checkKey(prefix + rel, full),
          source: PhysicalKey.local(full),
          meta: new Map(),
        });
      // Symlinks and special files are skipped: a package holds regular files.
    }
  };
  await walk(abs);
  return out;
}

function asPrefix(p: string): string {
  return p === "" || p.endsWith("/") ? p : p + "/";
}

const STATE_FILES = ["installed.json", "workspace.json"];

async function holdsOurState(dir: string): Promise<boolean> {
  const names = await readdir(dir).catch(() => [] as string[]);
  return names.some((n) => STATE_FILES.includes(n));
}

/** Default logical prefix for a source: a directory's or S3 prefix's own name. */
export function defaultPrefix(source: string): string {
  if (source === "." || source === "./") return "";
  const trimmed = source.replace(/\/+$/, "");
  const name = trimmed.slice(trimmed.lastIndexOf("/") + 1);
  return name === "" || name === "." ? "" : name + "/";
}

/** Entries for s3://bucket/key (one object) or s3://bucket/prefix/ (every object under it). */
export async function entriesFromS3(
  stores: Stores,
  url: string,
  prefixOrKey?: string,
): Promise<BuilderEntry[]> {
  const pk = PhysicalKey.fromUrl(url);
  const isPrefix = pk.path === "" || pk.path.endsWith("/");
  const prefix =
    prefixOrKey === undefined
      ? isPrefix
        ? defaultPrefix(url)
        : ""
      : isPrefix
        ? asPrefix(prefixOrKey)
        : prefixOrKey;
  const bucket = pk.bucket as string;
  const store = stores.s3();
  if (!isPrefix) {
    // One object: HEAD pins its current version and may carry a checksum that saves reading it.
    const head = await store.head({
      bucket,
      key: pk.path,
      ...(pk.versionId !== null && { versionId: pk.versionId }),
    });
    const rel = pk.path.slice(pk.path.lastIndexOf("/") + 1);
    const key = prefix === "" || prefix.endsWith("/") ? prefix + rel : prefix;
    return [
      objectEntry(
        checkKey(key, `s3://${bucket}/${pk.path}`),
        bucket,
        pk.path,
        head.versionId ?? null,
        head.size,
        head.checksumSha256,
      ),
    ];
  }
  // A prefix, as quilt3's set_dir: the listing gives each object's size and current version,
  // so a million objects cost a thousand requests. Only objects whose version the listing
  // could not tell (ListObjectVersions refused) are HEADed; the build reads the others to
  // hash them, except empty ones.
  const out: BuilderEntry[] = [];
  const unpinned: number[] = [];
  for await (const e of store.list(bucket, pk.path, { versions: true })) {
    if (e.kind !== "object" || e.key.endsWith("/")) continue;
    const logicalKey = checkKey(prefix + e.key.slice(pk.path.length), `s3://${bucket}/${e.key}`);
    if (e.versionId === undefined) unpinned.push(out.length);
    out.push(objectEntry(logicalKey, bucket, e.key, e.versionId ?? null, e.size, undefined));
  }
  if (out.length === 0)
    throw new QuiltError("ENOTFOUND", `No objects under ${url}`, { hint: "check the bucket and prefix" });
  await forEachLimited(unpinned, HEAD_CONCURRENCY, async (i) => {
    const e = out[i] as BuilderEntry;
    const head = await store.head({ bucket, key: e.source.path });
    out[i] = objectEntry(
      e.logicalKey,
      bucket,
      e.source.path,
      head.versionId ?? null,
      head.size,
      head.checksumSha256,
    );
  });
  return out;
}

function objectEntry(
  logicalKey: string,
  bucket: string,
  key: string,
  versionId: string | null,
  size: number,
  checksumSha256: string | undefined,
): BuilderEntry {
  // EMPTY_META is shared and refuses changes; setMeta() copies it first.
  return {
    logicalKey,
    source: PhysicalKey.s3(bucket, key, versionId),
    size,
    meta: EMPTY_META,
    ...(checksumSha256 !== undefined && { checksumSha256 }),
  };
}

/** Entries of another package, keeping their hashes, sizes and metadata. */
export function entriesFromManifest(entries: readonly ManifestEntry[], prefix: string): BuilderEntry[] {
  return entries.map((e) => ({
    logicalKey: checkKey(prefix + e.logicalKey, e.physicalKey.toString()),
    source: e.physicalKey,
    size: e.size,
    hash: e.hash,
    meta: e.meta,
  }));
}
