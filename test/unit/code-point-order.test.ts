// The one string order (src/code-point-order.ts) that replaced the stores' UTF-8 byte
// comparison and the mount's in-place name comparison: it must agree with S3's UTF-8 byte
// order on every well-formed string, and comparing in place must equal comparing slices.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compareCodePoints, compareCodePointsAt } from "../../src/code-point-order.js";

const sign = (n: number) => Math.sign(n);
// Whole code points, astral ones included, mixed with the BMP's private-use range where UTF-16 order differs.
const text = fc.string({
  unit: fc.oneof(
    fc.constantFrom("\u{E000}", "\u{FFFF}", "\u{1F600}", "a", "/"),
    fc.string({ unit: "binary", minLength: 1, maxLength: 1 }),
  ),
});

describe("compareCodePoints", () => {
  it("orders as S3 lists keys: by UTF-8 bytes", () => {
    fc.assert(
      fc.property(text, text, (a, b) => {
        expect(sign(compareCodePoints(a, b))).toBe(sign(Buffer.compare(Buffer.from(a), Buffer.from(b))));
      }),
      { numRuns: 2000, seed: 14 },
    );
    expect(compareCodePoints("\u{E000}", "\u{1F600}")).toBeLessThan(0);
    expect("\u{E000}" < "\u{1F600}").toBe(false); // what JavaScript's own order would say
  });

  it("compares a slice in place as it would compare the sliced string", () => {
    fc.assert(
      fc.property(text, text, fc.nat(), fc.nat(), (a, b, i, j) => {
        const start = a.length === 0 ? 0 : i % a.length;
        const len = a.length - start;
        const expected = sign(compareCodePoints(a.slice(start), b.slice(0, j % (b.length + 1))));
        const got = compareCodePointsAt(a, start, len, b, 0, j % (b.length + 1));
        expect(sign(got)).toBe(expected);
      }),
      { numRuns: 2000, seed: 14 },
    );
  });
});
