// The `switch` request: which version a mount moves to. A mount keeps its registry and S3
// context across switches (they decide which bytes it may serve and with whose
// credentials), so the target names a version there: a tag or hash of the mounted package
// (":v2", "@1a2b3c", or "v2"), a whole spec of that registry ("ns/other:v1"), or the
// version served before the last switch (`previous`).
import { QuiltError } from "../errors.js";
import { parsePackageSpec, type PackageSpec } from "../manifest/package-spec.js";
import type { IndexedVersion } from "./indexed-version.js";
import type { MountRecord, MountVersion } from "./mount-records.js";
import type { SwitchParams } from "./ops.js";
import type { PackageMount } from "./package-mount.js";

export interface SwitchRequest {
  mountpoint: string;
  /** A spec, or "previous" for the version before the last switch. */
  target: { spec: string } | { previous: true };
  /** credentialsFingerprint() of the caller's environment. */
  credentials?: string;
}

/** A switch request's params (checked by their schema at the socket): a spec or previous, exactly one. */
export function parseSwitchRequest(p: SwitchParams): SwitchRequest {
  const { mountpoint } = p;
  const credentials = p.credentials !== undefined ? { credentials: p.credentials } : {};
  if (p.previous === true) {
    if (p.spec !== undefined)
      throw new QuiltError("EUSAGE", "A switch request names either a spec or previous, not both");
    return { mountpoint, target: { previous: true }, ...credentials };
  }
  if (p.spec === undefined || p.spec === "")
    throw new QuiltError(
      "EUSAGE",
      'A switch request needs a "spec" (a tag, @hash or ns/name[:tag][@hash]) or "previous": true',
    );
  return { mountpoint, target: { spec: p.spec }, ...credentials };
}

/**
 * The spec a switch target names, in the mount's registry. A bare tag ("v2"), ":tag" or
 * "@hash" means the mounted package; a spec naming another registry is refused.
 */
export function switchSpec(record: MountRecord, spec: string): PackageSpec {
  const short = /^[:@]/.test(spec)
    ? `${record.name}${spec}`
    : spec.includes("/")
      ? spec
      : `${record.name}:${spec}`;
  const parsed = parsePackageSpec(short, { registry: record.registry, env: {} });
  if (parsed.registry.url !== record.registry) {
    throw new QuiltError(
      "EUSAGE",
      `${record.mountpoint} is mounted from ${record.registry}; a switch cannot move it to ${parsed.registry.url}`,
      {
        hint: `a mount keeps its registry: unmount it and mount the other one (quilt unmount ${record.mountpoint} && quilt mount SPEC ${record.mountpoint})`,
      },
    );
  }
  return parsed;
}

/** The mount's record once switched to `version`: what it served becomes its previous version. */
export function switchedRecord(record: MountRecord, version: MountVersion): MountRecord {
  // The tag, time and manifest size were the old version's.
  const { previous: _dropped, tag: _tag, versionTime: _time, manifestBytes: _bytes, ...rest } = record;
  return {
    ...rest,
    name: version.name,
    ...(version.tag !== undefined && { tag: version.tag }),
    topHash: version.topHash,
    previous: {
      name: record.name,
      ...(record.tag !== undefined && { tag: record.tag }),
      topHash: record.topHash,
    },
  };
}

/** A record's version opened, with the record to keep (its version's time and manifest size filled in once known). */
export interface LoadedVersion {
  version: IndexedVersion;
  record: MountRecord;
  /** Every file's mtime: the manifest's time, or now while it is not known. */
  time: Date;
  manifestBytes: number | null;
}

/** What a switch needs of the daemon: versions resolved and loaded in a record's registry and S3 context. */
export interface VersionLoader {
  /** The top hash a spec names. */
  resolve(r: MountRecord, spec: PackageSpec): Promise<string>;
  /**
   * The record's version, opened from the manifest index (indexed from its manifest, verified
   * against its top hash), and the version's time; `check` may refuse it.
   */
  load(r: MountRecord, check: (version: IndexedVersion) => void): Promise<LoadedVersion>;
  /** Refuses a caller whose credentials are not the daemon's (see checkCredentials). */
  checkCredentials(r: MountRecord, caller: string | undefined): void;
}

/**
 * Moves a mount to another version: resolves and loads (verifies) it first, so any failure
 * leaves the mount serving what it served; then swaps it in. The caller saves the records,
 * so a restart restores the version switched to (and its previous one).
 */
export async function switchMount(
  m: PackageMount,
  req: SwitchRequest,
  loader: VersionLoader,
): Promise<{ unchanged: boolean; stillOpen: number }> {
  const r = m.record;
  // The new version is read with the daemon's credentials, as at mount time: refused before
  // the first S3 request when they are not the caller's.
  if (r.registry.startsWith("s3://")) loader.checkCredentials(r, req.credentials);
  let version: MountVersion;
  if ("previous" in req.target) {
    if (r.previous === undefined) {
      throw new QuiltError("ENOTFOUND", `${r.mountpoint} has no previous version to return to`, {
        hint: "quilt switch --previous returns to the version before the last `quilt switch`",
      });
    }
    version = r.previous;
  } else {
    const spec = switchSpec(r, req.target.spec);
    version = {
      name: spec.name,
      ...(spec.hash === undefined && { tag: spec.tag ?? "latest" }),
      topHash: await loader.resolve(r, spec),
    };
  }
  if (version.name === r.name && version.topHash === r.topHash) return { unchanged: true, stillOpen: 0 };
  const next = switchedRecord(r, version);
  const {
    version: opened,
    record,
    time,
    manifestBytes,
  } = await loader.load(next, (v) => {
    if (v.readsS3) loader.checkCredentials(r, req.credentials);
  });
  const { stillOpen } = await m.switchTo(record, opened, time);
  m.manifestBytes = manifestBytes;
  return { unchanged: false, stillOpen };
}
