// One segment of a manifest (a run of whole lines) parsed for the index build
// (manifest-index-build.ts), in a parse worker (manifest-index-parse-worker.ts) or in the
// build's own thread: each line is parsed and checked by the manifest reader's own line
// parser, so the segments of a manifest accept, refuse and word exactly what reading it
// whole would. What the build needs of each entry comes back as flat arrays that cross a
// thread boundary cheaply: its key, size and line number, its node (the line's own bytes,
// a slice of the segment), and its part of the top hash already printed.
import { compareLogicalKeys } from "../manifest/logical-key.js";
import { ManifestLineParser } from "../manifest/manifest-reader.js";
import { decodeLines } from "../manifest/lines.js";
import { entryHashPart } from "../manifest/top-hash.js";
import { serializeError, type SerializedError } from "../worker-spec.js";
import { entryReadsS3, type ParsedFiles } from "./manifest-index-writer.js";

export interface ParsedSegment extends ParsedFiles {
  /** Line 1's text, when the segment starts the manifest (the header: parsed again by the build). */
  header?: string;
  /** Directory-metadata lines: number and text (few; parsed again by the build). */
  dirMeta: [number, string][];
  /** The entries' canonical JSON for the top hash (ASCII), in the segment's order. */
  canonical: Buffer;
  /** Whether the segment's keys are in walk order (its first and last key are the build's to compare). */
  sorted: boolean;
  /** The first malformed line's error; what precedes it is returned, what follows is not read. */
  error?: SerializedError;
}

/**
 * Text known to be ASCII, written into a buffer that doubles as it fills: the top hash's
 * parts of thousands of entries cost less so than as a string joined and then encoded.
 */
class AsciiBuffer {
  private buf = Buffer.allocUnsafe(1 << 16);
  private length = 0;

  write(text: string): void {
    if (this.length + text.length > this.buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + text.length));
      this.buf.copy(grown, 0, 0, this.length);
      this.buf = grown;
    }
    this.length += this.buf.write(text, this.length, "latin1");
  }

  /** What was written, in a buffer of its own (it can be moved to another thread). */
  bytes(): Buffer {
    return this.length === this.buf.length ? this.buf : Buffer.from(this.buf.subarray(0, this.length));
  }
}

/** Byte offsets of each line of `bytes` (which holds whole lines), a trailing "\r" and line 1's BOM left out. */
function lineSpans(bytes: Buffer, first: number, count: number): { starts: Uint32Array; ends: Uint32Array } {
  const starts = new Uint32Array(count);
  const ends = new Uint32Array(count);
  let at = 0;
  for (let i = 0; i < count; i++) {
    const nl = bytes.indexOf(0x0a, at);
    const end = nl < 0 ? bytes.length : nl;
    starts[i] = at;
    ends[i] = end > at && bytes[end - 1] === 0x0d ? end - 1 : end;
    at = end + 1;
  }
  if (first === 1 && count > 0 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) starts[0] = 3;
  return { starts, ends };
}

/** Parses segment `bytes`, whose first line is line `first` of the manifest. Never throws: a refused line is `error`. */
export function parseSegment(bytes: Buffer, first: number): ParsedSegment {
  const keys: string[] = [];
  const sizes: number[] = [];
  const lines: number[] = [];
  const nodeStarts: number[] = [];
  const nodeEnds: number[] = [];
  const dirMeta: [number, string][] = [];
  let header: string | undefined;
  const canonical = new AsciiBuffer();
  let readsS3 = false;
  let sorted = true;
  const done = (error?: unknown): ParsedSegment => ({
    ...(header === undefined ? {} : { header }),
    keys,
    sizes: Float64Array.from(sizes),
    lines: Uint32Array.from(lines),
    bytes,
    starts: Uint32Array.from(nodeStarts),
    ends: Uint32Array.from(nodeEnds),
    readsS3,
    dirMeta,
    canonical: canonical.bytes(),
    sorted,
    ...(error === undefined ? {} : { error: serializeError(error) }),
  });
  const parser = new ManifestLineParser();
  // A later segment's lines are entries: the header was line 1, in the first segment.
  if (first > 1) parser.header = new Map();
  try {
    const texts = decodeLines(bytes, first);
    const { starts, ends } = lineSpans(bytes, first, texts.length);
    for (let i = 0; i < texts.length; i++) {
      const text = texts[i] as string;
      const number = first + i;
      const entry = parser.parse(text, number);
      if (number === 1) header = text;
      else if (entry === undefined) {
        dirMeta.push([number, text]);
        parser.dirMeta.clear();
      } else {
        const key = entry.logicalKey;
        if (keys.length > 0 && compareLogicalKeys(keys[keys.length - 1] as string, key) > 0) sorted = false;
        keys.push(key);
        sizes.push(entry.size);
        lines.push(number);
        nodeStarts.push(starts[i] as number);
        nodeEnds.push(ends[i] as number);
        canonical.write(entryHashPart(entry));
        if (!readsS3) readsS3 = entryReadsS3(entry);
      }
    }
    return done();
  } catch (err) {
    return done(err);
  }
}
