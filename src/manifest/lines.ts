// Splits a byte or text stream into lines without holding the whole input, decoding each
// chunk as strict UTF-8 so a corrupt byte is reported with its line number. Lines come in
// batches (one per chunk): a manifest of a million lines should not cost a million awaits.
// The index build takes runs of whole lines as bytes instead, to be decoded by its parse workers.
import { QuiltError } from "../errors.js";

export interface LineBatch {
  lines: string[];
  /** 1-based number of lines[0]. */
  first: number;
}

// ignoreBOM: a decoder strips a byte order mark at the start of each input by default, so a
// mark opening a later line was dropped whenever a chunk of the stream began with that line,
// and refused when it did not (quilt3 refuses it); line 1's mark is removed below, by hand.
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

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

/**
 * The lines of `bytes` (whole lines, without the newline after the last one), decoded as
 * strict UTF-8; `first` is the number of the first line, for the message naming the line
 * with a bad byte and for the byte order mark, removed from line 1 only.
 */
export function decodeLines(bytes: Buffer, first: number): string[] {
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    // Find the line with the bad byte, for the message.
    let line = first;
    for (const piece of bytes.toString("latin1").split("\n")) {
      try {
        decoder.decode(Buffer.from(piece, "latin1"));
      } catch {
        break;
      }
      line++;
    }
    throw new QuiltError("EBADMANIFEST", `Manifest line ${line}: invalid UTF-8`);
  }
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i] as string;
    if (l.endsWith("\r")) lines[i] = l.slice(0, -1);
  }
  if (first === 1 && lines[0]?.charCodeAt(0) === 0xfeff) lines[0] = (lines[0] as string).slice(1);
  return lines;
}

/** Whole lines of the input as bytes (no newline after the last), and the number of the first. */
export interface LineRun {
  bytes: Buffer;
  first: number;
}

function newlines(bytes: Buffer): number {
  let n = 0;
  for (let i = bytes.indexOf(0x0a); i >= 0; i = bytes.indexOf(0x0a, i + 1)) n++;
  return n;
}

/**
 * The input cut at newlines into runs of whole lines of at least `minBytes` (but the last),
 * without holding the whole input. A run is in a buffer of its own unless it is a view of
 * one chunk of the source.
 */
export async function* splitLineRuns(
  source: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>,
  minBytes = 0,
): AsyncGenerator<LineRun> {
  const carry = new Carry();
  let next = 1;
  const run = (bytes: Buffer): LineRun => {
    const r = { bytes, first: next };
    next += newlines(bytes) + 1;
    return r;
  };
  for await (const chunk of source) {
    const buf =
      typeof chunk === "string"
        ? Buffer.from(chunk, "utf8")
        : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    // Without a minimum, one run per chunk (up to its last newline); with one, as many runs as it makes up.
    let from = 0;
    for (;;) {
      const nl =
        minBytes === 0
          ? buf.lastIndexOf(0x0a)
          : buf.indexOf(0x0a, from + Math.max(0, minBytes - carry.length));
      if (nl < from) break;
      yield run(carry.length ? carry.take(buf.subarray(from, nl)) : buf.subarray(from, nl));
      from = nl + 1;
      if (minBytes === 0) break;
    }
    carry.append(buf.subarray(from));
  }
  if (carry.length === 0) return;
  // Held back to make up `minBytes`, the last run may end with the input's final newline, after which there is no line.
  const rest = carry.take();
  yield run(rest[rest.length - 1] === 0x0a ? rest.subarray(0, -1) : rest);
}

export async function* splitLineBatches(
  source: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>,
): AsyncGenerator<LineBatch> {
  for await (const { bytes, first } of splitLineRuns(source))
    yield { lines: decodeLines(bytes, first), first };
}
