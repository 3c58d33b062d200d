// Reads an entry's bytes for the library (getBytes, readme, get), verified against the
// manifest hash before anything is returned. Reads pinned to the object version.
import { QuiltError } from "../errors.js";
import { assertHashType, hashBytes, verifyHash } from "../manifest/checksums.js";
import type { ManifestEntry } from "../manifest/manifest.js";
import type { Stores } from "../storage/stores.js";
import { expectedHash } from "./fetch-entry.js";
import type { EntryBytesReader } from "./package-entry.js";

export class StoreEntryReader implements EntryBytesReader {
  constructor(private readonly stores: Stores) {}

  async bytes(entry: ManifestEntry): Promise<Buffer> {
    const { store, loc } = this.stores.forPhysicalKey(entry.physicalKey);
    const data = await store.get(loc);
    if (data.length !== entry.size) {
      throw new QuiltError("EHASHMISMATCH", `${entry.logicalKey}: expected ${entry.size} bytes from ${entry.physicalKey.toString()}, got ${data.length}`);
    }
    const want = expectedHash(entry);
    verifyHash(want, await hashBytes(data, assertHashType(want.type)), `${entry.logicalKey} (${entry.physicalKey.toString()})`);
    return data;
  }
}
