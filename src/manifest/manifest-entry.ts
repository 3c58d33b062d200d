// One file of a package as its manifest line says: where its bytes are, how many, and the
// hash they must match. Its own module because the top hash and the compact in-memory
// entry are computed from entries while the Manifest is built from them.
import type { LogicalKey } from "../types.js";
import type { JsonObject } from "./json-value.js";
import type { PhysicalKey } from "./physical-key.js";

export interface ManifestEntry {
  readonly logicalKey: LogicalKey;
  readonly physicalKey: PhysicalKey;
  readonly size: number;
  /** The whole hash object as stored ({"type", "value"} and any extra keys, which are hashed). */
  readonly hash: JsonObject;
  /** The entry's whole meta object; user metadata lives under "user_meta". */
  readonly meta: JsonObject;
}
