// The chunk digests a cache index keeps per object (raw SHA-256 of each chunk, concatenated),
// learned from the store's part checksums or computed after the whole object matched its
// manifest hash. Separate from the index's block tables because they live by other rules:
// they outlive the object's blocks (they are what lets an evicted chunk be fetched again and
// verified on its own) and survive the index being reset for another data directory, since
// they are facts about content, whichever disk holds it. Only clear() forgets them.
import type { Database, RootDatabase } from "lmdb";

export class DigestTable {
  private readonly db: Database<Buffer, string>;

  constructor(private readonly root: RootDatabase) {
    this.db = root.openDB<Buffer, string>("digests", { encoding: "binary" });
  }

  get(key: string): Buffer | undefined {
    return this.db.get(key);
  }

  set(key: string, digests: Buffer): void {
    this.root.transactionSync(() => this.db.put(key, digests));
  }

  /** Inside the caller's transaction (CacheIndex.clear). */
  clearSync(): void {
    this.db.clearSync();
  }
}
