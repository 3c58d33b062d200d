// Where quilt3 keeps manifests and pointers inside a registry root, for both layouts:
// v1 (the default, read and written) and v2 (opt-in in quilt3, read here).
//   v1  .quilt/packages/<tophash>                      .quilt/named_packages/<ns>/<name>/<pointer>
//   v2  .quilt/v2/manifests/<ns>@<name>/<tophash>/manifest.jsonl    .quilt/v2/tags/<ns>@<name>/<tag>
export type LayoutVersion = "v1" | "v2";

export const V1_MANIFESTS = ".quilt/packages/";
export const V1_POINTERS = ".quilt/named_packages/";
export const V2_MANIFESTS = ".quilt/v2/manifests/";
export const V2_TAGS = ".quilt/v2/tags/";

const v2Name = (name: string): string => name.replace("/", "@");

export function manifestKey(layout: LayoutVersion, name: string, topHash: string): string {
  return layout === "v1"
    ? `${V1_MANIFESTS}${topHash}`
    : `${V2_MANIFESTS}${v2Name(name)}/${topHash}/manifest.jsonl`;
}

export function pointerDir(layout: LayoutVersion, name: string): string {
  return layout === "v1" ? `${V1_POINTERS}${name}/` : `${V2_TAGS}${v2Name(name)}/`;
}

export function pointerKey(layout: LayoutVersion, name: string, pointer: string): string {
  return pointerDir(layout, name) + pointer;
}

/** Prefix under which manifests whose hash starts with `hashPrefix` are listed. */
export function manifestSearchPrefix(layout: LayoutVersion, name: string, hashPrefix: string): string {
  return layout === "v1" ? `${V1_MANIFESTS}${hashPrefix}` : `${V2_MANIFESTS}${v2Name(name)}/${hashPrefix}`;
}

/** The top hash named by a listed manifest key, or undefined when the key is something else. */
export function topHashFromManifestKey(layout: LayoutVersion, key: string): string | undefined {
  const m =
    layout === "v1"
      ? /^\.quilt\/packages\/([0-9a-f]{64})$/.exec(key)
      : /^\.quilt\/v2\/manifests\/[^/]+\/([0-9a-f]{64})\/manifest\.jsonl$/.exec(key);
  return m?.[1];
}

export function packageNameFromV2(dirName: string): string {
  return dirName.replace("@", "/");
}

/** Where to look for a version's manifest: the layout its pointer was found in first, then the other. */
export function layoutsFrom(layout: LayoutVersion): LayoutVersion[] {
  return layout === "v1" ? ["v1", "v2"] : ["v2", "v1"];
}
