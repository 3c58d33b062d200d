// Which entries of a version a call names, read from its manifest alone: those under a
// prefix, a directory's immediate children (ls), the README, the keys and prefixes given to
// cache(), a seeded random sample. "train" and "train/" name the same directory.
import { QuiltError } from "../errors.js";
import { compareLogicalKeys } from "../manifest/logical-key.js";
import type { Manifest, ManifestEntry } from "../manifest/manifest.js";
import { quoted } from "../untrusted-text.js";
import { PackageDirectory, PackageEntry, type EntryBytesReader } from "./package-entry.js";

function asDirectory(prefix: string): string {
  return prefix === "" || prefix.endsWith("/") ? prefix : prefix + "/";
}

/** Entries under a prefix ("train/" or "train"), in walk order. */
export function entriesUnder(manifest: Manifest, prefix: string): ManifestEntry[] {
  const [start, end] = manifest.prefixRange(asDirectory(prefix));
  return manifest.entries.slice(start, end);
}

/** Immediate children of a directory: files as entries, directories with a trailing "/". */
export function listDirectory(
  manifest: Manifest,
  prefix: string,
  reader: EntryBytesReader,
  label: string,
): (PackageEntry | PackageDirectory)[] {
  const p = asDirectory(prefix);
  const out: (PackageEntry | PackageDirectory)[] = [];
  const seenDirs = new Set<string>();
  const [start, end] = manifest.prefixRange(p);
  for (const e of manifest.entries.slice(start, end)) {
    const rest = e.logicalKey.slice(p.length);
    const slash = rest.indexOf("/");
    if (slash < 0) out.push(new PackageEntry(e, reader));
    else {
      const dir = p + rest.slice(0, slash + 1);
      if (!seenDirs.has(dir)) {
        seenDirs.add(dir);
        out.push(new PackageDirectory(dir));
      }
    }
  }
  if (out.length === 0 && p !== "")
    throw new QuiltError("ENOTFOUND", `No directory ${quoted(p)} in ${label}`);
  return out.sort((a, b) =>
    compareLogicalKeys(a.logicalKey.replace(/\/$/, ""), b.logicalKey.replace(/\/$/, "")),
  );
}

/** README.md, or else the first readme-like file at the top level. */
export function readmeEntry(manifest: Manifest, label: string): ManifestEntry {
  const top = manifest.entries.filter((e) => !e.logicalKey.includes("/"));
  const e =
    top.find((x) => x.logicalKey === "README.md") ?? top.find((x) => /^readme(\.\w+)?$/i.test(x.logicalKey));
  if (!e)
    throw new QuiltError("ENOTFOUND", `${label} has no README`, {
      hint: "browse its contents with ls()",
    });
  return e;
}

/** The entries of some keys or prefixes (each once; none given is the whole version); ENOTFOUND for one that names nothing. */
export function entriesNamed(
  manifest: Manifest,
  keysOrPrefixes: string | readonly string[],
  label: string,
): ManifestEntry[] {
  const seen = new Map<string, ManifestEntry>();
  for (const keyOrPrefix of typeof keysOrPrefixes === "string"
    ? [keysOrPrefixes]
    : keysOrPrefixes.length > 0
      ? keysOrPrefixes
      : [""]) {
    const single = manifest.get(keyOrPrefix);
    const entries = single ? [single] : entriesUnder(manifest, keyOrPrefix);
    if (entries.length === 0)
      throw new QuiltError("ENOTFOUND", `Nothing at ${quoted(keyOrPrefix)} in ${label}`);
    for (const e of entries) seen.set(e.logicalKey as string, e);
  }
  return [...seen.values()];
}

/** `n` keys picked at random, seeded so that the same sample can be made again. */
export function sampleKeys(manifest: Manifest, n: number, seed: number): Set<string> {
  const keys = manifest.entries.map((e) => e.logicalKey as string);
  let s = seed >>> 0 || 1;
  const rand = () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
  for (let i = keys.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [keys[i], keys[j]] = [keys[j] as string, keys[i] as string];
  }
  return new Set(keys.slice(0, n));
}
