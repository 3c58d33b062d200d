// A builder taken as a Package without a push (PackageBuilder.asPackage). Safe by default:
// a manifest pointing at local files, or one not pushed, is not a Package unless the caller
// says so explicitly, since others could not read the files or find the manifest.
import { QuiltError } from "../errors.js";
import type { Manifest } from "../manifest/manifest.js";
import type { RegistryUrl } from "../manifest/registry-url.js";
import type { Pushable } from "./builder-push.js";
import type { BuilderEntry } from "./builder-sources.js";
import { Package } from "./package.js";

export const LOCAL_FILES_ERROR =
  "Manifest contains pointers to local files. Use pushData() to first push those files to s3 or use allowLocalFiles: true if this is intentional";
export const LOCAL_MANIFEST_ERROR =
  "The manifest has not been pushed to a remote repository. Use pushManifest() to first push the manifest to s3 or use allowLocalManifest: true if this is intentional";

/** Entries pointing at local files outside the registry (data in a local registry counts as pushed). */
export function pointsAtLocalFiles(registry: RegistryUrl, entries: Iterable<BuilderEntry>): boolean {
  const inRegistry = registry.kind === "file" ? registry.dir.replace(/\/$/, "") + "/" : undefined;
  return [...entries].some(
    (e) => e.source.isLocal() && (inRegistry === undefined || !e.source.path.startsWith(inRegistry)),
  );
}

/** The builder as a Package: refused while it points at local files or is not pushed, unless allowed. */
export async function builderAsPackage(
  b: Pushable,
  opts: { allowLocalFiles?: boolean; allowLocalManifest?: boolean },
): Promise<Package> {
  if (b.hasLocalFiles() && !opts.allowLocalFiles) throw new QuiltError("EUSAGE", LOCAL_FILES_ERROR);
  if (!b.parts.pushed && !opts.allowLocalManifest) throw new QuiltError("EUSAGE", LOCAL_MANIFEST_ERROR);
  if (!b.parts.built) await b.buildManifest();
  const manifest = b.parts.built as Manifest;
  return Package.fromManifest(
    b.session,
    b.registry,
    b.name,
    b.parts.pushed?.tag,
    manifest,
    b.parts.pushed?.url ?? "local",
  );
}
