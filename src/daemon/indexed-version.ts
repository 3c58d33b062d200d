// A package version as a mount holds it: its manifest's local index (never the parsed
// manifest), opened at once when the version was indexed before (a remount, a daemon
// restart), else loaded from its registry, verified, indexed and then dropped, so the
// daemon's memory does not grow with the number of entries or of versions mounted.
import { IndexedTree } from "../fs/indexed-tree.js";
import type { JsonValue } from "../manifest/json-value.js";
import type { ManifestEntry } from "../manifest/manifest.js";
import { type ManifestIndex, type VersionId, versionKey } from "../storage/manifest-index.js";
import { decodeVersionHeader, decodeNode, type VersionHeader } from "../storage/manifest-index-records.js";
import type { Registry } from "../storage/registry.js";
import type { TopHash } from "../types.js";
import { readsS3 } from "./mount-request.js";

export class IndexedVersion {
  readonly tree: IndexedTree;
  readonly userMeta: JsonValue;
  private readonly vid: Buffer;

  constructor(
    private readonly index: ManifestIndex,
    readonly id: VersionId,
    readonly header: VersionHeader,
  ) {
    this.vid = versionKey(id);
    this.tree = new IndexedTree(index, this.vid, header);
    const body = index.headerBody(this.vid);
    this.userMeta = body === undefined ? new Map() : decodeVersionHeader(body).userMeta;
  }

  get topHash(): TopHash {
    return this.id.topHash;
  }

  /** File entries. */
  get size(): number {
    return this.header.files;
  }

  totalBytes(): number {
    return this.header.totalBytes;
  }

  /** Some entry's bytes are in S3. */
  get readsS3(): boolean {
    return this.header.readsS3;
  }

  /** Every file entry in inode (walk) order, read from the index as the walk goes. */
  *entries(): Generator<ManifestEntry> {
    for (const { text } of this.index.nodes(this.vid, this.header.nodes)) {
      const n = decodeNode(text);
      if (n.kind === "file") yield n.entry;
    }
  }

  get(key: string): ManifestEntry | undefined {
    return this.tree.get(key);
  }
}

/** The version `topHash` of `name` in `registry`, indexed (once) from its verified manifest. */
export async function openIndexedVersion(
  index: ManifestIndex,
  registry: Registry,
  name: string,
  topHash: TopHash,
): Promise<IndexedVersion> {
  const id: VersionId = { registry: registry.manifests.registry, name, topHash };
  let header = index.header(id);
  if (header === undefined) {
    // loadManifest verifies the top hash (and the cached file's SHA-256) before returning.
    const manifest = await registry.loadManifest({ name, topHash, layout: "v1" });
    header = index.build(id, manifest, readsS3(manifest));
  }
  return new IndexedVersion(index, id, header);
}
