// A package version as a mount holds it: its manifest's local index (never the parsed
// manifest), opened at once when the version was indexed before (a remount, a daemon
// restart), else loaded from its registry, verified, indexed and then dropped, so the
// daemon's memory does not grow with the number of entries or of versions mounted.
import { IndexedTree } from "../fs/indexed-tree.js";
import type { JsonValue } from "../manifest/json-value.js";
import type { ManifestEntry } from "../manifest/manifest.js";
import { type ManifestIndex, type VersionId, versionKey } from "../storage/manifest-index.js";
import { decodeVersionHeader, type VersionHeader } from "../storage/manifest-index-records.js";
import { parseEntry } from "../manifest/manifest-reader.js";
import type { Registry } from "../storage/registry.js";
import type { TopHash } from "../types.js";
import { isQuiltError } from "../errors.js";
import { buildInWorker, type BuildOptions, type BuildResult } from "../storage/manifest-index-build.js";
import { log } from "../log.js";
import { KeyedQueue } from "./keyed-queue.js";

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
    for (const text of this.index.files(this.vid, this.header.files)) yield parseEntry(text);
  }

  get(key: string): ManifestEntry | undefined {
    return this.tree.get(key);
  }
}

/**
 * Builds of one version never overlap (two mounts of a new version at once): a build starts
 * by removing what an earlier one left, so a second build would remove the pages of the first.
 * Nor does a build overlap the removal of the version's records by eviction (index-upkeep.ts),
 * which would remove the pages the build writes: a mount of a version being dropped waits
 * for the drop, then indexes it again.
 */
const builds = new KeyedQueue();

/** Runs `work` on version `vid` once no build of it (or other such work) is under way, none starting before it ends. */
export function betweenBuilds<T>(index: ManifestIndex, vid: Buffer, work: () => Promise<T>): Promise<T> {
  return builds.run(`${index.dir}\n${vid.toString("hex")}`, work);
}

/** The version `topHash` of `name` in `registry`, indexed (once) from its verified manifest. */
export async function openIndexedVersion(
  index: ManifestIndex,
  registry: Registry,
  name: string,
  topHash: TopHash,
  /** How a build parses (QUILT_INDEX_THREADS). */
  options: BuildOptions = {},
): Promise<IndexedVersion> {
  const id: VersionId = { registry: registry.manifests.registry, name, topHash };
  const header =
    index.header(id) ??
    (await betweenBuilds(index, versionKey(id), async () => {
      return index.header(id) ?? (await indexVersion(index, registry, id, options));
    }));
  return new IndexedVersion(index, id, header);
}

/**
 * Indexes a version from its manifest in a worker thread, which verifies the top hash as it
 * reads (and a cached file's checksum). A cached file that fails is forgotten and the
 * manifest fetched again from the registry, once.
 */
async function indexVersion(
  index: ManifestIndex,
  registry: Registry,
  id: VersionId,
  options: BuildOptions,
): Promise<VersionHeader> {
  const resolved = { name: id.name, topHash: id.topHash, layout: "v1" as const };
  for (let attempt = 1; ; attempt++) {
    const source = await registry.manifestSource(resolved);
    // Fetched bytes are kept in the manifest cache by the worker, once it verified them.
    if ("bytes" in source)
      return built(
        id,
        await buildInWorker(
          index,
          id,
          { ...source, keepAt: registry.manifests.pathOf(id.name, id.topHash) },
          options,
        ),
      );
    try {
      return built(id, await buildInWorker(index, id, source, options));
    } catch (err) {
      if (attempt > 1 || !(isQuiltError(err, "EHASHMISMATCH") || isQuiltError(err, "EBADMANIFEST")))
        throw err;
      await registry.manifests.forget(id.name, id.topHash);
    }
  }
}

/** Logs a version indexed (with the parse workers it used: QUILT_INDEX_THREADS) and returns its header. */
function built(id: VersionId, result: BuildResult): VersionHeader {
  log().info(
    { package: id.name, topHash: id.topHash, files: result.header.files, parseThreads: result.parseThreads },
    "indexed a version",
  );
  return result.header;
}
