// Physical keys: where an entry's bytes live, `s3://bucket/path?versionId=v` or
// `file:///abs/path`. Parsed and printed exactly as quilt3's PhysicalKey does (urllib's
// quote/unquote rules), because quilt3 normalizes every physical key it writes and a
// manifest we write must come out byte-identical.
import { QuiltError } from "../errors.js";
import { quoted } from "../untrusted-text.js";

const HINT = "physical keys look like s3://bucket/path/to/key?versionId=... or file:///absolute/path";

export class PhysicalKey {
  private constructor(
    /** null for a local file. */
    readonly bucket: string | null,
    /** The decoded path: an S3 key (no leading `/`) or an absolute local path. */
    readonly path: string,
    readonly versionId: string | null,
  ) {}

  static s3(bucket: string, key: string, versionId: string | null = null): PhysicalKey {
    if (!bucket) throw new QuiltError("EBADSPEC", "An S3 physical key needs a bucket", { hint: HINT });
    return new PhysicalKey(bucket, key, versionId);
  }

  static local(absPath: string): PhysicalKey {
    if (!absPath.startsWith("/"))
      throw new QuiltError("EBADSPEC", `Local path must be absolute: ${absPath}`, { hint: HINT });
    return new PhysicalKey(null, absPath, null);
  }

  static fromUrl(url: string): PhysicalKey {
    const m = /^([A-Za-z][A-Za-z0-9+.-]*):(.*)$/s.exec(url);
    const scheme = m?.[1]?.toLowerCase();
    let rest = m?.[2] ?? "";
    // urllib drops a fragment silently; so does quilt3.
    const hash = rest.indexOf("#");
    if (hash >= 0) rest = rest.slice(0, hash);
    let netloc = "";
    if (rest.startsWith("//")) {
      const slash = rest.slice(2).search(/[/?]/);
      netloc = slash < 0 ? rest.slice(2) : rest.slice(2, 2 + slash);
      rest = slash < 0 ? "" : rest.slice(2 + slash);
    }
    const q = rest.indexOf("?");
    const rawPath = q < 0 ? rest : rest.slice(0, q);
    const query = q < 0 ? "" : rest.slice(q + 1);
    if (scheme === "s3") {
      if (!netloc) throw new QuiltError("EBADSPEC", `Missing bucket in ${quoted(url)}`, { hint: HINT });
      const fields = parseQuery(query);
      const versions = fields.get("versionId");
      fields.delete("versionId");
      if (fields.size > 0)
        throw new QuiltError("EBADSPEC", `Unexpected S3 query string: ${quoted(query)}`, { hint: HINT });
      return new PhysicalKey(netloc, unquote(rawPath).slice(1), versions?.[0] ?? null);
    }
    if (scheme === "file") {
      if (netloc !== "" && netloc !== "localhost")
        throw new QuiltError("EBADSPEC", `Unexpected hostname in ${quoted(url)}`, { hint: HINT });
      if (!rawPath.startsWith("/"))
        throw new QuiltError("EBADSPEC", `Relative paths are not allowed: ${quoted(url)}`, { hint: HINT });
      if (query) throw new QuiltError("EBADSPEC", `Unexpected query in ${quoted(url)}`, { hint: HINT });
      return new PhysicalKey(null, unquote(rawPath), null);
    }
    throw new QuiltError(
      "EBADSPEC",
      `Unexpected scheme ${quoted(scheme ?? "")} in physical key ${quoted(url)}`,
      { hint: HINT },
    );
  }

  isLocal(): boolean {
    return this.bucket === null;
  }

  /** The form quilt3 writes: path quoted with "/" safe, versionId form-encoded. */
  toString(): string {
    if (this.bucket === null) return "file://" + quote(this.path, "/");
    const v = this.versionId === null ? "" : "?versionId=" + quotePlus(this.versionId);
    return `s3://${this.bucket}${quote("/" + this.path, "/")}${v}`;
  }

  withVersion(versionId: string | null): PhysicalKey {
    return new PhysicalKey(this.bucket, this.path, versionId);
  }

  equals(other: PhysicalKey): boolean {
    return this.bucket === other.bucket && this.path === other.path && this.versionId === other.versionId;
  }
}

const ALWAYS_SAFE = /[A-Za-z0-9_.\-~]/;
const encoder = new TextEncoder();
// ignoreBOM: by default a decoder drops a leading U+FEFF, and urllib.parse.unquote keeps it.
const decoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

/** urllib.parse.quote: UTF-8 bytes, everything but letters, digits, `_.-~` and `safe` as %XX. */
export function quote(s: string, safe = ""): string {
  if (/^[A-Za-z0-9_.\-~/]*$/.test(s) && (safe.includes("/") || !s.includes("/"))) return s;
  let out = "";
  for (const ch of s) {
    if ((ch.length === 1 && ALWAYS_SAFE.test(ch)) || safe.includes(ch)) {
      out += ch;
      continue;
    }
    for (const b of encoder.encode(ch)) out += "%" + b.toString(16).toUpperCase().padStart(2, "0");
  }
  return out;
}

/** urllib.parse.quote_plus with safe="": spaces become "+". */
export function quotePlus(s: string): string {
  return quote(s, " ").replaceAll(" ", "+");
}

/** urllib.parse.unquote: %XX runs decoded as UTF-8 (bad bytes become U+FFFD), stray "%" kept. */
export function unquote(s: string): string {
  if (!s.includes("%")) return s;
  return s.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
    const bytes = new Uint8Array(run.length / 3);
    for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(run.slice(i * 3 + 1, i * 3 + 3), 16);
    return decoder.decode(bytes);
  });
}

/** urllib.parse.parse_qs with default flags: blank values and fields without "=" dropped. */
function parseQuery(query: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const field of query.split("&")) {
    const eq = field.indexOf("=");
    if (eq < 0) continue;
    const value = field.slice(eq + 1);
    if (!value) continue;
    const key = unquote(field.slice(0, eq).replaceAll("+", " "));
    const list = out.get(key) ?? [];
    list.push(unquote(value.replaceAll("+", " ")));
    out.set(key, list);
  }
  return out;
}
