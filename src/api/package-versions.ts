// The registry-level calls of quilt3's API (`list_packages`, `list_package_versions`,
// `delete_package`) for library users: what a registry holds, and removing a version, a
// tag or a whole package. Deleting removes pointers only, never data (as quilt3 does).
import { isValidPackageName } from "../manifest/package-spec.js";
import { QuiltError } from "../errors.js";
import { quoted } from "../untrusted-text.js";
import { deleteAllPointers, deleteTag, deleteVersion } from "../storage/registry-delete.js";
import type { Registry } from "../storage/registry.js";
import type { VersionInfo } from "../storage/registry-listing.js";
import { getDefaultSession, type Session } from "../session.js";

export interface RegistryOptions {
  /** s3://bucket or a local directory; default QUILT_REGISTRY, else quilt3's local registry. */
  registry?: string;
  session?: Session;
}

export type PackageVersion = VersionInfo;

export interface DeleteOptions extends RegistryOptions {
  /** Delete this version only (a full hash or a unique prefix), as quilt3's `top_hash`. */
  topHash?: string;
  /** Delete this tag only; the version it names stays. */
  tag?: string;
}

export interface DeleteResult {
  name: string;
  /** What was removed: every pointer of a version, one tag, or the whole package. */
  scope: "version" | "tag" | "package";
  topHash?: string;
  /** Pointers deleted (for a version: its timestamps and tags, and `latest` if it was the latest). */
  deleted: string[];
  /** Where `latest` points now when it moved; null when the package has no version left. */
  latest?: string | null;
}

function open(name: string, opts: RegistryOptions): Registry {
  if (!isValidPackageName(name)) {
    throw new QuiltError("EBADSPEC", `Invalid package name ${quoted(name)}`, {
      hint: "a package name is namespace/name, e.g. bucket/dataset",
    });
  }
  const session = opts.session ?? getDefaultSession();
  return session.registry(session.registryUrl(opts.registry));
}

/** Package names ("ns/name") in a registry, sorted. */
export async function listPackages(opts: RegistryOptions = {}): Promise<string[]> {
  const session = opts.session ?? getDefaultSession();
  return session.registry(session.registryUrl(opts.registry)).listPackages();
}

/** Every version of a package, newest first, with its time and the tags that name it. */
export async function listPackageVersions(
  name: string,
  opts: RegistryOptions = {},
): Promise<PackageVersion[]> {
  return open(name, opts).listVersions(name);
}

/**
 * Deletes a version (`topHash`), a tag (`tag`) or, with neither, the whole package: its
 * pointers, never its data. A deleted version's `latest` moves to the newest remaining one.
 */
export async function deletePackage(name: string, opts: DeleteOptions = {}): Promise<DeleteResult> {
  const registry = open(name, opts);
  if (opts.topHash !== undefined && opts.tag !== undefined) {
    throw new QuiltError("EUSAGE", "Give a version's hash or a tag to delete, not both", {
      hint: "a hash deletes the version with all its tags; a tag deletes only that tag",
    });
  }
  if (opts.tag !== undefined) {
    const topHash = await deleteTag(registry, name, opts.tag);
    return { name, scope: "tag", topHash, deleted: [opts.tag] };
  }
  if (opts.topHash !== undefined) {
    const { topHash } = await registry.resolve(name, { hash: opts.topHash });
    const r = await deleteVersion(registry, name, topHash);
    return { name, scope: "version", topHash, ...r };
  }
  const deleted = await deleteAllPointers(registry, name);
  return { name, scope: "package", deleted, latest: null };
}
