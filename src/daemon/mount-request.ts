// The `mount` request as the daemon accepts it. What decides which bytes a mount serves
// (the registry, the S3 endpoint, region and profile) was resolved by the CLI in the shell
// that ran `quilt mount`, and arrives explicitly: a request that leaves the registry out is
// refused rather than completed from the daemon's own environment, which belongs to
// whichever shell happened to start the daemon.
import { QuiltError } from "../errors.js";
import { parsePackageSpec, type PackageSpec } from "../manifest/package-spec.js";
import { parseRegistryUrl } from "../manifest/registry-url.js";
import { parseS3Context, type S3Context } from "./s3-context.js";

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

export const VERIFY_MODES = ["default", "strict"] as const;

const RESOLVED_REGISTRY = /^(s3|file):\/\//;

/**
 * The "mountpoint" of a request: an absolute path string. The CLI resolves it in the
 * caller's directory; a relative one would resolve in the daemon's, and anything else
 * (a number, an object) is a malformed request, not an internal error.
 */
export function mountpointParam(p: Record<string, unknown>, op: string): string {
  const m = p.mountpoint;
  if (typeof m !== "string" || !m.startsWith("/")) {
    throw new QuiltError(
      "EUSAGE",
      `A ${op} request needs an absolute "mountpoint", got ${typeof m === "string" ? JSON.stringify(m.slice(0, 200)) : m === null ? "null" : Array.isArray(m) ? "an array" : typeof m}`,
    );
  }
  return m;
}

export function parseMountRequest(p: Record<string, unknown>): MountRequest {
  if (typeof p.spec !== "string")
    throw new QuiltError("EUSAGE", 'A mount request needs a "spec" (ns/name[:tag][@hash])');
  const mountpoint = mountpointParam(p, "mount");
  if (typeof p.registry !== "string" || !RESOLVED_REGISTRY.test(p.registry)) {
    throw new QuiltError(
      "EUSAGE",
      `A mount request needs a resolved "registry" (s3://bucket or file:///dir), got ${JSON.stringify(p.registry)}`,
      {
        hint: "the daemon does not choose a registry from its own environment; use `quilt mount` of the same version as the daemon",
      },
    );
  }
  const registry = parseRegistryUrl(p.registry);
  const spec = parsePackageSpec(p.spec, { registry: registry.url, env: {} });
  if (spec.registry.url !== registry.url) {
    throw new QuiltError(
      "EUSAGE",
      `The mount request names two registries: ${spec.registry.url} in the spec and ${registry.url}`,
    );
  }
  if (p.verify !== undefined && !(VERIFY_MODES as readonly unknown[]).includes(p.verify)) {
    throw new QuiltError("EUSAGE", `Invalid verify mode ${JSON.stringify(p.verify)}`, {
      hint: `one of: ${VERIFY_MODES.join(", ")}`,
    });
  }
  if (p.credentials !== undefined && typeof p.credentials !== "string")
    throw new QuiltError("EUSAGE", '"credentials" must be a fingerprint string');
  return {
    spec,
    mountpoint,
    s3: parseS3Context(p.s3),
    ...(typeof p.credentials === "string" && { credentials: p.credentials }),
    ...(p.verify === "strict" && { verify: "strict" as const }),
    allowOther: p.allowOther === true,
    nonEmpty: p.nonEmpty === true,
  };
}
