// logicalKeyProblem's at-a-glance pattern (most keys) must never accept a key that the rules
// spelled out one by one refuse: generated keys from the characters the rules are about.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { logicalKeyProblem } from "../../src/manifest/logical-key.js";

/** The rules of LOGICAL_KEY_RULES, written out plainly. */
function valid(key: string): boolean {
  return (
    key !== "" &&
    !key.includes("\0") &&
    key.isWellFormed() &&
    key.split("/").every((part) => part !== "" && part !== "." && part !== "..")
  );
}

describe("logicalKeyProblem", () => {
  it("accepts exactly the keys the rules accept", () => {
    const piece = fc.constantFrom("a", "b", "/", ".", "..", "\0", "é", "😀", "\ud800", "\udc00", " ", ".a");
    fc.assert(
      fc.property(
        fc.array(piece, { maxLength: 10 }).map((p) => p.join("")),
        (key) => {
          expect(logicalKeyProblem(key) === null).toBe(valid(key));
        },
      ),
      { numRuns: 5000 },
    );
  });

  it.each(["a/./b", "a/../b", "..", ".", "a//b", "/a", "a/", "", "a\0", "x\ud800"])("refuses %j", (key) => {
    expect(logicalKeyProblem(key)).not.toBeNull();
  });
});
