// One row per package entry, the shape `quilt manifest export` writes for Spark, Ray Data,
// Dask or pyarrow: where the bytes are (the physical key as quilt3 writes it, and split into
// bucket, key and version so a reader can GET the exact object version without parsing a
// URL), how large they are and the hash they must match, and the metadata as JSON text.
import { hashType, hashValue, type ManifestEntry } from "../manifest/manifest.js";
import { CompactEntry } from "../manifest/compact-entry.js";
import { PhysicalKey } from "../manifest/physical-key.js";
import { manifestJson } from "../manifest/python-json.js";

export interface ExportRow {
  logical_key: string;
  /** `s3://bucket/key?versionId=…` or `file:///path`, exactly as in the manifest. */
  physical_key: string;
  /** null for a file in a local registry. */
  bucket: string | null;
  /** The S3 key (decoded), or the local file's absolute path. */
  key: string;
  /** null when the object is unversioned (or local). */
  version_id: string | null;
  size: number;
  hash_type: string;
  hash_value: string;
  /** The entry's whole `meta` object as JSON text; user metadata is under "user_meta". */
  meta: string;
}

/** The columns in order, and whether a value may be null (what the Parquet schema says). */
export const EXPORT_COLUMNS: readonly {
  name: keyof ExportRow;
  kind: "string" | "int64";
  nullable: boolean;
}[] = [
  { name: "logical_key", kind: "string", nullable: false },
  { name: "physical_key", kind: "string", nullable: false },
  { name: "bucket", kind: "string", nullable: true },
  { name: "key", kind: "string", nullable: false },
  { name: "version_id", kind: "string", nullable: true },
  { name: "size", kind: "int64", nullable: false },
  { name: "hash_type", kind: "string", nullable: false },
  { name: "hash_value", kind: "string", nullable: false },
  { name: "meta", kind: "string", nullable: false },
];

export function exportRow(e: ManifestEntry): ExportRow {
  // A compact entry keeps the URL it was read as, already in quilt3's form.
  const url = e instanceof CompactEntry ? e.url : e.physicalKey.toString();
  const pk = e instanceof CompactEntry ? PhysicalKey.fromUrl(url) : e.physicalKey;
  return {
    logical_key: e.logicalKey,
    physical_key: url,
    bucket: pk.bucket,
    key: pk.path,
    version_id: pk.versionId,
    size: e.size,
    hash_type: hashType(e),
    hash_value: hashValue(e),
    meta: manifestJson(e.meta),
  };
}
