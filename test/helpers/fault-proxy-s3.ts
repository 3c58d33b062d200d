// The S3 wire details the fault proxy (daemon-proxy.ts) needs, kept apart so the proxy
// reads as a list of faults: which requests are object-body GETs, where a response body
// starts in the object (so a corruption lands at an object offset whatever the Range), and
// a GetObjectAttributes answer for servers that cannot give one (moto's fails in the JS SDK).
import { createHash } from "node:crypto";

/** One part as GetObjectAttributes reports it. */
export interface FakePart {
  partNumber: number;
  size: number;
  /** Base64 SHA-256 of the part's bytes, as S3 stores it. */
  checksumSHA256: string;
}

/** The parts S3 reports for `data` uploaded in parts of `partBytes` (quilt3's: 8 MiB) with SHA-256 checksums. */
export function partsOf(data: Buffer, partBytes = 8 * 1024 * 1024): FakePart[] {
  return Array.from({ length: Math.ceil(data.length / partBytes) }, (_, i) => {
    const bytes = data.subarray(i * partBytes, (i + 1) * partBytes);
    return {
      partNumber: i + 1,
      size: bytes.length,
      checksumSHA256: createHash("sha256").update(bytes).digest("base64"),
    };
  });
}

export interface FakeAttributesOptions {
  /** The ETag to report (with its quotes); default a multipart-shaped one derived from the parts. */
  etag?: string;
  /** ObjectSize to report; default the sum of the part sizes. */
  objectSize?: number;
}

/** Subresources that make a GET something other than a read of the object's bytes. */
const NOT_A_BODY_GET =
  /[?&](list-type|versions|uploads|uploadId|attributes|tagging|acl|legal-hold|retention|torrent)(=|&|$)/;

export function isObjectBodyGet(method: string, key: string, query: string): boolean {
  return method === "GET" && key !== "" && !NOT_A_BODY_GET.test(query);
}

export function isAttributesGet(method: string, key: string, query: string): boolean {
  return method === "GET" && key !== "" && /[?&]attributes(=|&|$)/.test(query);
}

/**
 * The object offset of a response body's first byte: the start of its Content-Range for a
 * 206, else 0 (a 200 is the whole object, even when the request asked for a range).
 */
export function bodyStartOffset(status: number, contentRange: string | string[] | undefined): number {
  if (status !== 206 || typeof contentRange !== "string") return 0;
  const m = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(contentRange.trim());
  return m ? Number(m[1]) : 0;
}

/** Flips the bytes at the given object offsets that fall inside `chunk`, which starts at `chunkOffset`. */
export function corruptChunk(
  chunk: Buffer,
  chunkOffset: number,
  flips: readonly { offset: number; xor: number }[],
): Buffer {
  let out = chunk;
  for (const f of flips) {
    const i = f.offset - chunkOffset;
    if (i < 0 || i >= chunk.length) continue;
    if (out === chunk) out = Buffer.from(chunk); // never change a buffer someone else holds
    out[i] = (out[i] as number) ^ f.xor;
  }
  return out;
}

const xml = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/**
 * S3's composite checksum of a multipart object: base64 of the SHA-256 of the parts' raw
 * SHA-256 digests in part order. GetObjectAttributes reports it without the "-N" suffix
 * that HeadObject and GetObject add, with ChecksumType COMPOSITE. Undefined when a part's
 * checksum is not a base64 SHA-256.
 */
export function compositeSha256(parts: readonly FakePart[]): string | undefined {
  const digests = [...parts]
    .sort((a, b) => a.partNumber - b.partNumber)
    .map((p) => Buffer.from(p.checksumSHA256, "base64"));
  if (digests.some((d) => d.length !== 32)) return undefined;
  return createHash("sha256").update(Buffer.concat(digests)).digest("base64");
}

/** A multipart-shaped ETag ("<md5>-<parts>"), stable for the same parts. */
function defaultEtag(parts: readonly FakePart[]): string {
  const md5 = createHash("md5");
  for (const p of [...parts].sort((a, b) => a.partNumber - b.partNumber))
    md5.update(`${p.partNumber}:${p.size}:${p.checksumSHA256};`);
  return `"${md5.digest("hex")}-${parts.length}"`;
}

/**
 * The GetObjectAttributesResponse body for `parts`, holding only the attributes asked for
 * in x-amz-object-attributes (all when the header is absent), paged by
 * x-amz-part-number-marker and x-amz-max-parts as S3 pages ObjectParts.
 */
export function attributesXml(
  parts: readonly FakePart[],
  headers: Record<string, string | string[] | undefined>,
  opts: FakeAttributesOptions = {},
): string {
  const header = (name: string): string | undefined => {
    const v = headers[name];
    return Array.isArray(v) ? v.join(",") : v;
  };
  const wanted = header("x-amz-object-attributes");
  const want = (name: string): boolean =>
    wanted === undefined || wanted.split(",").some((a) => a.trim().toLowerCase() === name.toLowerCase());
  const sorted = [...parts].sort((a, b) => a.partNumber - b.partNumber);
  const marker = Number(header("x-amz-part-number-marker") ?? 0) || 0;
  const maxParts = Number(header("x-amz-max-parts") ?? 1000) || 1000;
  const after = sorted.filter((p) => p.partNumber > marker);
  const page = after.slice(0, maxParts);
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<GetObjectAttributesResponse xmlns="http://s3.amazonaws.com/doc/2006-03-01/">',
  ];
  if (want("ETag")) out.push(`<ETag>${xml(opts.etag ?? defaultEtag(parts))}</ETag>`);
  const composite = compositeSha256(parts);
  if (want("Checksum") && composite !== undefined)
    out.push(
      `<Checksum><ChecksumSHA256>${composite}</ChecksumSHA256><ChecksumType>COMPOSITE</ChecksumType></Checksum>`,
    );
  if (want("ObjectParts")) {
    // On the wire the total is <PartsCount> (the SDK maps it to TotalPartsCount); the API
    // reference names it TotalPartsCount, so both are sent: parsers ignore what they do not know.
    out.push(
      "<ObjectParts>",
      `<TotalPartsCount>${parts.length}</TotalPartsCount>`,
      `<PartsCount>${parts.length}</PartsCount>`,
    );
    out.push(
      `<PartNumberMarker>${marker}</PartNumberMarker>`,
      `<NextPartNumberMarker>${page.at(-1)?.partNumber ?? marker}</NextPartNumberMarker>`,
    );
    out.push(`<MaxParts>${maxParts}</MaxParts>`, `<IsTruncated>${after.length > page.length}</IsTruncated>`);
    for (const p of page)
      out.push(
        `<Part><PartNumber>${p.partNumber}</PartNumber><Size>${p.size}</Size><ChecksumSHA256>${xml(p.checksumSHA256)}</ChecksumSHA256></Part>`,
      );
    out.push("</ObjectParts>");
  }
  if (want("StorageClass")) out.push("<StorageClass>STANDARD</StorageClass>");
  if (want("ObjectSize"))
    out.push(`<ObjectSize>${opts.objectSize ?? parts.reduce((n, p) => n + p.size, 0)}</ObjectSize>`);
  out.push("</GetObjectAttributesResponse>");
  return out.join("");
}

export function errorXml(code: string, message: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${xml(code)}</Code><Message>${xml(message)}</Message></Error>`;
}
