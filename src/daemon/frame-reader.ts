// Splits a socket's bytes into newline-delimited frames, refusing any frame longer than
// the limit instead of buffering it: a malformed or hostile client costs at most one
// frame of memory.
export class FrameReader {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly maxBytes: number) {}

  /** Complete frames in `chunk` (plus what was pending); throws FrameTooLarge past the limit. */
  push(chunk: Buffer): string[] {
    const frames: string[] = [];
    let start = 0;
    for (let nl = chunk.indexOf(0x0a); nl >= 0; nl = chunk.indexOf(0x0a, start)) {
      const piece = chunk.subarray(start, nl);
      if (this.pendingBytes + piece.length > this.maxBytes) throw new FrameTooLarge(this.maxBytes);
      frames.push(
        this.pending.length
          ? Buffer.concat([...this.pending, piece]).toString("utf8")
          : piece.toString("utf8"),
      );
      this.pending = [];
      this.pendingBytes = 0;
      start = nl + 1;
    }
    const rest = chunk.subarray(start);
    if (rest.length) {
      if (this.pendingBytes + rest.length > this.maxBytes) throw new FrameTooLarge(this.maxBytes);
      this.pending.push(Buffer.from(rest));
      this.pendingBytes += rest.length;
    }
    return frames;
  }

  get hasPartial(): boolean {
    return this.pendingBytes > 0;
  }
}

export class FrameTooLarge extends Error {
  constructor(limit: number) {
    super(`frame larger than ${limit} bytes`);
  }
}
