// splitLineRuns (lines.ts): however its input is chunked and whatever minimum run size is
// asked, the runs hold exactly the input's lines, numbered as a split of the whole text.
import { describe, expect, it } from "vitest";
import { decodeLines, splitLineRuns } from "../../src/manifest/lines.js";

/** The lines the manifest reader sees: the text split at "\n", no line after a final newline. */
function expectedLines(text: string): string[] {
  const lines = text.split("\n").map((l) => (l.endsWith("\r") ? l.slice(0, -1) : l));
  if (text.endsWith("\n")) lines.pop();
  if (lines[0]?.startsWith("\ufeff")) lines[0] = lines[0].slice(1);
  return lines;
}

function chunked(bytes: Buffer, sizes: number[]): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const n = sizes[i % sizes.length] as number;
    out.push(bytes.subarray(at, at + n));
    at += n;
  }
  return out;
}

async function linesOf(chunks: Buffer[], minBytes: number): Promise<{ lines: string[]; runs: number }> {
  const lines: string[] = [];
  let runs = 0;
  for await (const { bytes, first } of splitLineRuns(chunks, minBytes)) {
    expect(first).toBe(lines.length + 1);
    lines.push(...decodeLines(bytes, first));
    runs++;
  }
  return { lines, runs };
}

describe("splitLineRuns", () => {
  const texts = [
    "\ufeffhead\nä\r\nb\n\nc😀\n",
    "a\nb",
    "one line",
    "\n",
    "a\n\n",
    Array.from({ length: 300 }, (_, i) => `{"line": ${i}, "text": "${"é".repeat(i % 13)}"}`).join("\n") +
      "\n",
  ];
  it("yields every line once, in order and numbered, for any chunking and minimum run size", async () => {
    for (const text of texts) {
      const bytes = Buffer.from(text, "utf8");
      for (const sizes of [[bytes.length], [1], [3, 7], [64, 5, 1000]])
        for (const minBytes of [0, 1, 10, 500, 1 << 20]) {
          const { lines } = await linesOf(chunked(bytes, sizes), minBytes);
          expect(lines, JSON.stringify({ text: text.slice(0, 20), sizes, minBytes })).toEqual(
            expectedLines(text),
          );
        }
    }
  });

  it("cuts one chunk into several runs of at least the minimum, whole lines each", async () => {
    const text = texts[5] as string;
    const runs: Buffer[] = [];
    for await (const { bytes } of splitLineRuns([Buffer.from(text)], 1000)) runs.push(bytes);
    expect(runs.length).toBeGreaterThan(5);
    for (const r of runs.slice(0, -1)) expect(r.length).toBeGreaterThanOrEqual(1000);
    expect(Buffer.concat(runs.flatMap((r) => [r, Buffer.from("\n")])).toString()).toBe(text);
  });
});

describe("byte order marks", () => {
  it("keeps a mark that opens a later line, wherever the stream is cut, and removes line 1's alone", async () => {
    const text = '\ufeff{"a":1}\n{"b":2}\n\ufeff{"c":3}\n';
    const bytes = Buffer.from(text, "utf8");
    // Cut right before the third line's mark, so a run begins with it (a decoder's default
    // strips a mark at the start of each input: the mark was lost there and kept elsewhere).
    const cut = bytes.indexOf(Buffer.from('\ufeff{"c"', "utf8"));
    for (const sizes of [[cut, bytes.length], [1], [bytes.length]]) {
      const { lines } = await linesOf(chunked(bytes, sizes), 1);
      expect(lines).toEqual(['{"a":1}', '{"b":2}', '\ufeff{"c":3}']);
    }
    expect(decodeLines(Buffer.from('\ufeff{"c":3}', "utf8"), 3)).toEqual(['\ufeff{"c":3}']);
  });
});
