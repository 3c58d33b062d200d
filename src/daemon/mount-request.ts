// The `mount` request as the daemon accepts it. What decides which bytes a mount serves
// (the registry, the S3 endpoint, region and profile) was resolved by the CLI in the shell
// that ran `quilt mount`, and arrives explicitly: a request that leaves the registry out is
// refused rather than completed from the daemon's own environment, which belongs to
// whichever shell happened to start the daemon. Once its version is resolved, a request
// becomes the mount's record (mountRecordFor).
import { QuiltError } from "../errors.js";
import { parsePackageSpec, type PackageSpec } from "../manifest/package-spec.js";
import { parseRegistryUrl } from "../manifest/registry-url.js";
import type { MountRecord } from "./mount-records.js";
import type { MountParams } from "./ops.js";
import type { S3Context } from "./s3-context.js";

export interface MountRequest {
  spec: PackageSpec;
  mountpoint: string;
  s3: S3Context;
  /** credentialsFingerprint() of the caller's environment. */
  credentials?: string;
  verify?: "strict";
  allowOther: boolean;
  nonEmpty: boolean;
}

/** A mount request's params (checked by their schema at the socket) as the daemon acts on them. */
export function parseMountRequest(p: MountParams): MountRequest {
  const registry = parseRegistryUrl(p.registry);
  const spec = parsePackageSpec(p.spec, { registry: registry.url, env: {} });
  if (spec.registry.url !== registry.url) {
    throw new QuiltError(
      "EUSAGE",
      `The mount request names two registries: ${spec.registry.url} in the spec and ${registry.url}`,
    );
  }
  return {
    spec,
    mountpoint: p.mountpoint,
    s3: p.s3 ?? {},
    ...(p.credentials !== undefined && { credentials: p.credentials }),
    ...(p.verify === "strict" && { verify: "strict" as const }),
    allowOther: p.allowOther ?? false,
    nonEmpty: p.nonEmpty ?? false,
  };
}

/** The record a request becomes once its version is resolved: what a restarted daemon mounts again. */
export function mountRecordFor(req: MountRequest, mountpoint: string, topHash: string): MountRecord {
  const { spec } = req;
  return {
    mountpoint,
    registry: spec.registry.url,
    s3: req.s3,
    name: spec.name,
    ...(spec.hash === undefined && { tag: spec.tag ?? "latest" }),
    topHash,
    ...(req.allowOther && { allowOther: true }),
    ...(req.nonEmpty && { nonEmpty: true }),
    ...(req.verify && { verify: req.verify }),
    mountedAt: new Date().toISOString(),
  };
}
