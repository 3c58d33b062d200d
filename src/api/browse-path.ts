// A package version and a path inside it, from a quilt+ URI that names one (quilt3's catalog
// links: `quilt+s3://bucket#package=ns/name@hash&path=dir/file.csv`). Package.browse
// refuses such a URI rather than drop the path; this is for callers that honour it.
import { QuiltError } from "../errors.js";
import { formatPackageSpec } from "../manifest/package-spec.js";
import { quoted } from "../untrusted-text.js";
import { getDefaultSession } from "../session.js";
import { Package, type BrowseOptions } from "./package.js";

export interface BrowsedPath {
  package: Package;
  /**
   * The path the spec names: a file's logical key, or a directory's with a trailing "/";
   * undefined when the spec names none.
   */
  path: string | undefined;
}

/** Browses `spec` (any form Package.browse takes) and checks the path it names is in the version. */
export async function browsePath(spec: string, opts: BrowseOptions = {}): Promise<BrowsedPath> {
  const session = opts.session ?? getDefaultSession();
  const parsed = session.parseSpec(spec, opts.registry, true);
  const { path, ...version } = parsed;
  const pkg = await Package.browse(formatPackageSpec(version), { ...opts, session });
  if (path === undefined || pkg.has(path)) return { package: pkg, path };
  const dir = path.endsWith("/") ? path : path + "/";
  if (pkg.entries(dir).length > 0 || pkg.manifest.dirMeta.has(dir)) return { package: pkg, path: dir };
  throw new QuiltError("ENOTFOUND", `No file or directory ${quoted(path)} in ${pkg.label}`, {
    hint: `the URI's path= must name a file or directory of the package; \`quilt ls ${formatPackageSpec(version)}\` lists its top`,
  });
}
