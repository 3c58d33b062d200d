// The size the block store holds itself to: the configured limit, or less while the disk
// under the data directory is full. A limit larger than the filesystem (a small tmpfs, a
// disk shared with other data) would otherwise never evict: every new block would fail its
// write (ENOSPC) and be served without being kept, while the blocks already on disk, however
// cold, stayed. When a write finds the disk full, the limit drops to the bytes the cache held
// then, so the next blocks evict the least recently used ones to make room, like any block
// over the limit. The disk may gain room later (other files deleted, a bigger volume), so
// the lowered limit lasts a minute; then writes try the configured limit again.

/** How long a full disk lowers the limit before writes try for more (one failed write per period). */
const FULL_DISK_MS = 60_000;

/** errno codes of a write refused for lack of room: the filesystem is full, or the user's quota. */
export function isDiskFull(code: string | undefined): boolean {
  return code === "ENOSPC" || code === "EDQUOT";
}

export class SizeLimit {
  private fullAt = 0;
  private until = 0;

  constructor(readonly maxBytes: number) {}

  /** The limit now. */
  get bytes(): number {
    return Date.now() < this.until ? Math.min(this.maxBytes, this.fullAt) : this.maxBytes;
  }

  /** A write found the disk full while the cache held `heldBytes`: hold to that for a while. */
  diskFull(heldBytes: number): void {
    this.fullAt = Math.max(0, heldBytes);
    this.until = Date.now() + FULL_DISK_MS;
  }
}
