// Bytes of u32s and varints (LEB128, exact for every integer up to 2^53), written and read
// back: the compact record bodies of the manifest index (its children tables,
// manifest-index-records.ts) are made of them. A read past the end throws RangeError, which
// the index treats as a damaged record.
/** Signed to unsigned, small magnitudes small (file positions may go back when the manifest is not in name order). */
export function zigzag(n: number): number {
  return n >= 0 ? 2 * n : -2 * n - 1;
}

export function unzigzag(n: number): number {
  return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
}

/** A growing buffer of u32s, varints (LEB128, exact up to 2^53) and bytes. */
export class ByteWriter {
  private buf: Buffer;
  private at = 0;
  constructor(capacity: number) {
    this.buf = Buffer.allocUnsafe(capacity);
  }
  u32(n: number): void {
    this.room(4);
    this.at = this.buf.writeUInt32LE(n, this.at);
  }
  varint(n: number): void {
    this.room(8);
    while (n >= 0x80) {
      this.buf[this.at++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.buf[this.at++] = n;
  }
  bytes(b: Buffer): void {
    this.room(b.length);
    this.at += b.copy(this.buf, this.at);
  }
  done(): Buffer {
    return this.buf.subarray(0, this.at);
  }
  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(2 * this.buf.length, this.at + n));
    this.buf.copy(grown, 0, 0, this.at);
    this.buf = grown;
  }
}

/** Reads what ByteWriter wrote; a read past the end throws (a table that does not parse is damaged). */
export class ByteReader {
  at = 0;
  constructor(private readonly buf: Buffer) {}
  u32(): number {
    this.need(4);
    const n = this.buf.readUInt32LE(this.at);
    this.at += 4;
    return n;
  }
  varint(): number {
    let n = 0;
    let scale = 1;
    for (;;) {
      this.need(1);
      const b = this.buf[this.at++] as number;
      n += (b & 0x7f) * scale;
      if (b < 0x80) return n;
      scale *= 0x80;
      if (scale > 2 ** 56) throw new RangeError("varint too long");
    }
  }
  need(n: number): void {
    if (this.at + n > this.buf.length) throw new RangeError("record ends early");
  }
}
