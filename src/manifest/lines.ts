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

export async function* splitLineBatches(source: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>): AsyncGenerator<LineBatch> {
  let carry: Buffer = Buffer.alloc(0);
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
    const buf = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const lastNl = buf.lastIndexOf(0x0a);
    if (lastNl < 0) {
      carry = Buffer.concat([carry, buf]); // copy: the source may reuse its buffer
      continue;
    }
    const complete = carry.length ? Buffer.concat([carry, buf.subarray(0, lastNl)]) : buf.subarray(0, lastNl);
    carry = Buffer.from(buf.subarray(lastNl + 1));
    yield batch(decode(complete));
  }
  if (carry.length) yield batch(decode(carry));
}
