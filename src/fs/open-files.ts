// The filesystem's open file handles: what each was opened on (the entry, which stays the
// same across a version switch) and in which generation (version), so a switch can tell
// which handles still read an older version and when the last of them on a path closes.
import type { ManifestEntry } from "../manifest/manifest.js";
import type { ReadHandle } from "./entry-reader.js";

export interface OpenFile {
  entry: ManifestEntry;
  path: string;
  handle: ReadHandle;
  /** The generation (version) it was opened in. */
  generation: number;
}

/** File handles are positive int32s: the binding carries them through a signed 32-bit slot. */
const MAX_HANDLE = 0x7fffffff;

export class OpenFiles {
  private readonly files = new Map<number, OpenFile>();
  private nextHandle = 1;

  get size(): number {
    return this.files.size;
  }

  get(fh: number): OpenFile | undefined {
    return this.files.get(fh);
  }

  set(fh: number, file: OpenFile): void {
    this.files.set(fh, file);
  }

  delete(fh: number): void {
    this.files.delete(fh);
  }

  /** A handle number not in use. */
  allocate(): number {
    for (;;) {
      const fh = this.nextHandle;
      this.nextHandle = fh >= MAX_HANDLE ? 1 : fh + 1;
      if (!this.files.has(fh)) return fh;
    }
  }

  /** Handles opened before `generation`. */
  olderThan(generation: number): number {
    let n = 0;
    for (const f of this.files.values()) if (f.generation < generation) n++;
    return n;
  }

  /** A handle opened before `generation` on `path` whose bytes are not `entry`'s, if any. */
  olderWithOtherBytes(path: string, entry: ManifestEntry, generation: number): OpenFile | undefined {
    for (const f of this.files.values()) {
      if (f.generation < generation && f.path === path && f.entry !== entry && !sameBytes(f.entry, entry))
        return f;
    }
    return undefined;
  }

  /** Whether a handle opened before `generation` on `path` is still open. */
  olderOnPath(path: string, generation: number): boolean {
    for (const f of this.files.values()) if (f.generation < generation && f.path === path) return true;
    return false;
  }
}

function sameBytes(a: ManifestEntry, b: ManifestEntry): boolean {
  return a.size === b.size && JSON.stringify([...a.hash]) === JSON.stringify([...b.hash]);
}
