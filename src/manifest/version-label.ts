// How a package version is named to people, everywhere (library labels, mount names, CLI
// lines, messages): by tag when it has one, and by the first characters of its top hash,
// as in the use cases ("18b6a77a6"), which is unique enough to read and to type back.

/** Characters of a top hash shown to people. */
export const SHORT_HASH_CHARS = 9;

export interface VersionName {
  name: string;
  tag?: string | null | undefined;
  topHash: string;
}

export function shortHash(topHash: string): string {
  return topHash.slice(0, SHORT_HASH_CHARS);
}

/** "ns/name:tag", or "ns/name@18b6a77a6" for a version named by its hash. */
export function versionLabel(v: VersionName): string {
  return hasTag(v) ? `${v.name}:${v.tag}` : `${v.name}@${shortHash(v.topHash)}`;
}

/** "ns/name:tag (18b6a77a6)", or "ns/name (18b6a77a6)": the package line of status and friends. */
export function versionLine(v: VersionName): string {
  return `${hasTag(v) ? `${v.name}:${v.tag}` : v.name} (${shortHash(v.topHash)})`;
}

function hasTag(v: VersionName): v is VersionName & { tag: string } {
  return v.tag !== undefined && v.tag !== null;
}
