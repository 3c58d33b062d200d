// Splits a byte or text stream into lines without holding the whole input, decoding each
// chunk as strict UTF-8 so a corrupt byte is reported with its line number. Lines come in
// batches (one per chunk): a manifest of a million lines should not cost a million awaits.
import { QuiltError } from "../errors.js";

export interface LineBatch {
  lines: string[];
  /** 1-based number of lines[0]. */
  first: number;
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * The bytes after the last newline seen, in a buffer that doubles as it fills: a long line
 * arriving in small chunks costs time linear in its length (concatenating everything so far
 * for every chunk made a 16 MiB line in 1 KiB chunks copy 128 GiB, a hang).
 */
class Carry {
  private buf = Buffer.alloc(0);
  length = 0;

  /** Copies `bytes` in (the source may reuse its buffer). */
  append(bytes: Buffer): void {
    if (this.length + bytes.length > this.buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.length + bytes.length, this.buf.length * 2, 4096));
      this.buf.copy(grown, 0, 0, this.length);
      this.buf = grown;
    }
    bytes.copy(this.buf, this.length);
    this.length += bytes.length;
  }

  /** The carried bytes followed by `tail`, leaving the carry empty. */
  take(tail: Buffer = Buffer.alloc(0)): Buffer {
    const out = Buffer.concat([this.buf.subarray(0, this.length), tail]);
    this.length = 0;
    if (this.buf.length > 1 << 16) this.buf = Buffer.alloc(0); // do not keep a long line's memory
    return out;
  }
}

export async function* splitLineBatches(
  source: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>,
): AsyncGenerator<LineBatch> {
  const carry = new Carry();
  let next = 1;
  const decode = (bytes: Buffer): string => {
    try {
      return decoder.decode(bytes);
    } catch {
      // Find the line with the bad byte, for the message.
      const text = bytes.toString("latin1");
      let line = next;
      for (const piece of text.split("\n")) {
        try {
          decoder.decode(Buffer.from(piece, "latin1"));
        } catch {
          break;
        }
        line++;
      }
      throw new QuiltError("EBADMANIFEST", `Manifest line ${line}: invalid UTF-8`);
    }
  };
  const batch = (text: string): LineBatch => {
    const lines = text.split("\n");
    for (let i = 0; i < lines.length; i++) {
      const l = lines[i] as string;
      if (l.endsWith("\r")) lines[i] = l.slice(0, -1);
    }
    if (next === 1 && lines[0]?.charCodeAt(0) === 0xfeff) lines[0] = (lines[0] as string).slice(1);
    const b = { lines, first: next };
    next += lines.length;
    return b;
  };
  for await (const chunk of source) {
    const buf =
      typeof chunk === "string"
        ? Buffer.from(chunk, "utf8")
        : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const lastNl = buf.lastIndexOf(0x0a);
    if (lastNl < 0) {
      carry.append(buf);
      continue;
    }
    const complete = carry.length ? carry.take(buf.subarray(0, lastNl)) : buf.subarray(0, lastNl);
    carry.append(buf.subarray(lastNl + 1));
    yield batch(decode(complete));
  }
  if (carry.length) yield batch(decode(carry.take()));
}
