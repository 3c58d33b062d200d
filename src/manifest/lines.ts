// Splits a byte or text stream into lines without holding the whole input, decoding each
// line as strict UTF-8 so a corrupt byte is reported with its line number.
import { QuiltError } from "../errors.js";

export interface Line {
  text: string;
  /** 1-based. */
  number: number;
}

const decoder = new TextDecoder("utf-8", { fatal: true });

export async function* splitLines(source: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>): AsyncGenerator<Line> {
  let pending: Buffer[] = [];
  let number = 0;
  const emit = (bytes: Buffer): Line => {
    number++;
    let text: string;
    try {
      text = decoder.decode(bytes);
    } catch {
      throw new QuiltError("EBADMANIFEST", `Manifest line ${number}: invalid UTF-8`);
    }
    if (number === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    return { text: text.endsWith("\r") ? text.slice(0, -1) : text, number };
  };
  for await (const chunk of source) {
    let buf = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let nl = buf.indexOf(0x0a);
    while (nl >= 0) {
      const piece = buf.subarray(0, nl);
      yield emit(pending.length ? Buffer.concat([...pending, piece]) : piece);
      pending = [];
      buf = buf.subarray(nl + 1);
      nl = buf.indexOf(0x0a);
    }
    if (buf.length) pending.push(Buffer.from(buf)); // copy: the source may reuse its buffer
  }
  if (pending.length) yield emit(Buffer.concat(pending));
}
