// Resolving what a user wrote after a package name (a tag, a hash or a unique prefix of one,
// or both) to the version it names, with errors that list what the registry does have.
import { QuiltError } from "../errors.js";
import { shortHash } from "../manifest/version-label.js";
import type { TopHash } from "../types.js";
import { quoted } from "../untrusted-text.js";
import { manifestSearchPrefix, topHashFromManifestKey, type LayoutVersion } from "./registry-layout.js";
import {
  isTimestamp,
  LATEST,
  listPointers,
  readPointer,
  type RegistryRoot,
  type Resolved,
} from "./registry-pointers.js";

/** quilt3 refuses hash prefixes shorter than this. */
export const MIN_HASH_PREFIX = 6;

/** A tag (default "latest"), a hash or unique hash prefix, or both (which must agree). */
export async function resolveVersion(
  root: RegistryRoot,
  name: string,
  ref: { tag?: string; hash?: string } = {},
): Promise<Resolved> {
  if (ref.hash !== undefined) {
    const byHash = await resolveHash(root, name, ref.hash);
    if (ref.tag !== undefined) {
      const byTag = await resolveTag(root, name, ref.tag);
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
  return resolveTag(root, name, ref.tag ?? LATEST);
}

async function resolveTag(root: RegistryRoot, name: string, tag: string): Promise<Resolved> {
  const found = await readPointer(root, name, tag);
  if (found) return found;
  const known = await listPointers(root, name);
  if (known.length === 0) {
    throw new QuiltError("ENOTFOUND", `No package ${name} in registry ${root.url.url}`, {
      hint: `list the packages there with \`quilt list --registry ${root.url.url}\``,
    });
  }
  const tags = [...new Set(known.map((p) => p.pointer).filter((p) => !isTimestamp(p)))];
  throw new QuiltError(
    "ENOTFOUND",
    `Unknown tag ${quoted(tag)} for package ${name} in registry ${root.url.url}`,
    {
      hint: `known tags: ${tags.join(", ") || "(none)"}; \`quilt log ${name}\` lists every version`,
    },
  );
}

async function resolveHash(root: RegistryRoot, name: string, prefix: string): Promise<Resolved> {
  const p = prefix.toLowerCase();
  if (!/^[0-9a-f]+$/.test(p) || p.length < MIN_HASH_PREFIX || p.length > 64) {
    throw new QuiltError(
      "EBADSPEC",
      `Invalid hash ${quoted(prefix)}: expected ${MIN_HASH_PREFIX} to 64 hex characters`,
    );
  }
  const matches = new Map<string, LayoutVersion>();
  for (const layout of ["v1", "v2"] as const) {
    for await (const e of root.store.list(root.bucket, manifestSearchPrefix(layout, name, p))) {
      if (e.kind !== "object") continue;
      const h = topHashFromManifestKey(layout, e.key);
      if (h !== undefined && !matches.has(h)) matches.set(h, layout);
    }
    if (matches.size > 0 && p.length === 64) break;
  }
  if (matches.size === 0) {
    throw new QuiltError(
      "ENOTFOUND",
      `No manifest of ${name} matches hash ${quoted(prefix)} in registry ${root.url.url}`,
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
