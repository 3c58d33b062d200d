// unquote (physical-key.ts) decodes percent-escapes as urllib.parse.unquote does: a key
// beginning with U+FEFF is another object than the same key without it, so the mark must
// survive (a TextDecoder drops it by default).
import { describe, expect, it } from "vitest";
import { PhysicalKey, quote, unquote } from "../../src/manifest/physical-key.js";

describe("unquote", () => {
  it("keeps a byte order mark that starts an escaped run, as Python does", () => {
    expect(unquote("%EF%BB%BFkey")).toBe("\ufeffkey");
    expect(unquote("dir/%EF%BB%BF%C3%A9")).toBe("dir/\ufeffé");
    expect(unquote(quote("\ufeffkey"))).toBe("\ufeffkey");
    expect(PhysicalKey.fromUrl("s3://bucket/%EF%BB%BFkey").path).toBe("\ufeffkey");
  });
});
