// Package specs as users type them: `ns/name[:tag][@hashprefix]` (registry from
// --registry, QUILT_REGISTRY or the local default), `s3://bucket/ns/name[:tag][@hash]`,
// `file:///dir/ns/name[:tag][@hash]`, and quilt3's `quilt+s3://bucket#package=ns/name[:tag|@hash]`
// whose `&path=` (a file or directory inside the package) only the commands that can honour
// it accept: for the others it is refused, not dropped.
import { QuiltError } from "../errors.js";
import { parseRegistryUrl, resolveRegistry, type RegistryUrl } from "./registry-url.js";
import { quoted } from "../untrusted-text.js";

export interface PackageSpec {
  registry: RegistryUrl;
  /** "ns/name" */
  name: string;
  tag?: string;
  /** A top hash or a unique prefix of one (6 to 64 hex characters). */
  hash?: string;
  /** Sub-path inside the package (quilt+ URIs only; only where the caller allowed it). */
  path?: string;
}

export const SPEC_FORMS = [
  "ns/name[:tag][@hashprefix]          (registry from --registry, QUILT_REGISTRY, or the local registry)",
  "s3://bucket/ns/name[:tag][@hash]",
  "file:///registry/dir/ns/name[:tag][@hash]",
  "quilt+s3://bucket#package=ns/name[:tag|@hash][&path=key-or-dir/]",
];

const PART = "[\\p{L}\\p{N}_-]+"; // quilt3: [\w-]+ on each side of the slash
const NAME_RE = new RegExp(`^${PART}/${PART}$`, "u");
const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const HASH_RE = /^[0-9a-f]{6,64}$/;

function bad(spec: string, why: string): QuiltError {
  return new QuiltError("EBADSPEC", `Invalid package spec ${quoted(spec)}: ${why}`, {
    hint: `accepted forms:\n  ${SPEC_FORMS.join("\n  ")}`,
  });
}

export function isValidPackageName(name: string): boolean {
  return NAME_RE.test(name);
}

export function isValidTag(tag: string): boolean {
  return TAG_RE.test(tag) && tag.length <= 255;
}

/** A builder's name: "ns/name" with an optional ":tag" (the tag its pushes use by default), no registry or hash. */
export function parseBuilderName(name: string): { name: string; tag: string | undefined } {
  const colon = name.indexOf(":");
  const bare = colon < 0 ? name : name.slice(0, colon);
  const tag = colon < 0 ? undefined : name.slice(colon + 1);
  if (!isValidPackageName(bare) || (tag !== undefined && !isValidTag(tag))) {
    throw new QuiltError("EBADSPEC", `Invalid package name ${quoted(name)}`, {
      hint: "a package name is namespace/name[:tag], e.g. bucket/dataset:v0",
    });
  }
  return { name: bare, tag };
}

/** Splits "ns/name:tag@hash" into its parts and validates each. */
function parseNameRef(spec: string, ref: string): Pick<PackageSpec, "name" | "tag" | "hash"> {
  let rest = ref;
  let hash: string | undefined;
  const at = rest.lastIndexOf("@");
  if (at >= 0) {
    hash = rest.slice(at + 1).toLowerCase();
    rest = rest.slice(0, at);
    if (!HASH_RE.test(hash))
      throw bad(spec, `"@${hash}" is not a top hash or a prefix of 6 to 64 hex characters`);
  }
  let tag: string | undefined;
  const colon = rest.indexOf(":");
  if (colon >= 0) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!isValidTag(tag)) throw bad(spec, `":${tag}" is not a valid tag (letters, digits, '_', '-', '.')`);
  }
  if (!NAME_RE.test(rest))
    throw bad(spec, `${quoted(rest)} is not a package name of the form namespace/name`);
  return { name: rest, ...(tag !== undefined && { tag }), ...(hash !== undefined && { hash }) };
}

/** The commands that take a quilt+ URI naming a path inside the package (`&path=`). */
export const PATH_COMMANDS = "quilt ls, cat, meta, install and cache prefetch";

export function parsePackageSpec(
  spec: string,
  opts: {
    registry?: string;
    env?: NodeJS.ProcessEnv;
    /** Accept a quilt+ URI's `path=` (the caller applies it); refused otherwise, never dropped. */
    allowPath?: boolean;
  } = {},
): PackageSpec {
  if (spec.startsWith("quilt+")) {
    const parsed = parseQuiltUri(spec);
    if (parsed.path !== undefined && opts.allowPath !== true) {
      throw new QuiltError(
        "EBADSPEC",
        `${quoted(spec)} names ${quoted(parsed.path)} inside the package, and this takes a whole package version`,
        { hint: `leave out "&path=..."; ${PATH_COMMANDS} take a URI with a path` },
      );
    }
    return parsed;
  }
  const url = /^(s3|file):\/\/(.*)$/s.exec(spec);
  if (url) {
    // The last two path components are ns/name (with :tag/@hash); everything before is the registry.
    const body = url[2] as string;
    const parts = body.split("/");
    if (parts.length < 3) throw bad(spec, "expected the registry followed by ns/name");
    const ref = parts.slice(-2).join("/");
    const registryPart = parts.slice(0, -2).join("/");
    const registry = parseRegistryUrl(`${url[1]}://${registryPart}`);
    return { registry, ...parseNameRef(spec, ref) };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(spec)) throw bad(spec, "unsupported URL scheme");
  const registry = resolveRegistry(opts.registry, opts.env);
  return { registry, ...parseNameRef(spec, spec) };
}

function parseQuiltUri(spec: string): PackageSpec {
  const m = /^quilt\+(s3:\/\/[^#/?]+)\/?#(.*)$/s.exec(spec);
  if (!m) throw bad(spec, "expected quilt+s3://bucket#package=ns/name");
  const registry = parseRegistryUrl(m[1] as string);
  const fields = new Map<string, string>();
  for (const kv of (m[2] as string).split("&")) {
    const eq = kv.indexOf("=");
    if (eq < 0) throw bad(spec, `fragment field ${quoted(kv)} has no "="`);
    fields.set(kv.slice(0, eq), decodeURIComponent(kv.slice(eq + 1)));
  }
  const pkg = fields.get("package");
  if (!pkg) throw bad(spec, 'the fragment has no "package=" field');
  const ref = parseNameRef(spec, pkg);
  if (ref.tag !== undefined && ref.hash !== undefined) throw bad(spec, "give either :tag or @hash, not both");
  // quilt3's catalog writes keys as they are ("dir/file.csv", "dir/"); a leading "/" means the same.
  const path = fields.get("path")?.replace(/^\/+/, "");
  return { registry, ...ref, ...(path !== undefined && path !== "" && { path }) };
}

/** The canonical text of a spec, e.g. for messages: "s3://bucket/ns/name:tag". */
export function formatPackageSpec(s: PackageSpec): string {
  return `${s.registry.url}/${s.name}${s.tag !== undefined ? `:${s.tag}` : ""}${s.hash !== undefined ? `@${s.hash}` : ""}`;
}
