// Holds an entry's object to the size its manifest gives. The size is part of what a
// manifest says about an object, and nothing else checks it: a sha2-256-chunked hash of a
// 12-byte object is the same whether the entry says 10 or 12 bytes, so an object of
// another size could be installed, then reported modified by verify, then "repaired" by
// force-match with the same bytes, forever. Checked without extra requests on the good
// path: a fetch that reaches the manifest's end asks for one byte more (the object must
// not have it), a fetch that comes back short means the object ends early, and only then
// one HEAD gives the object's exact size for the message.
import { QuiltError } from "../errors.js";
import type { ObjectSource, SourceFacts } from "./object-source.js";
import type { ByteRange } from "./object-store.js";

/**
 * The one error for an entry whose object has another size than its manifest says: the
 * package is inconsistent, and neither a retry nor force-match can fix it.
 */
export function sizeMismatch(what: string, manifestSize: number, objectSize: number | string): QuiltError {
  return new QuiltError(
    "EHASHMISMATCH",
    `${what}: the manifest says ${manifestSize} bytes, the object has ${objectSize}; the package is inconsistent`,
    {
      hint: "the object was replaced after the package was made, or the manifest has a wrong size: retrying or force-match cannot fix it; use another version (`quilt log NAME`) or ask its publisher to push a corrected one",
    },
  );
}

/**
 * Throws the size error when the object's size (HEAD) is not `size`; `seen` is what the
 * anomalous response implied, reported when the HEAD itself fails.
 */
export async function checkObjectSize(
  what: string,
  size: number,
  objectSize: () => Promise<number>,
  seen: string,
): Promise<void> {
  const actual = await objectSize().catch(() => seen);
  if (actual !== size) throw sizeMismatch(what, size, actual);
}

/**
 * `src` checked against `size`: every fetch returns exactly the bytes asked for or throws
 * (the size error when the object is shorter or longer), and `inspect` refuses an object
 * whose HEAD reports another size.
 */
export function sizeCheckedSource(src: ObjectSource, size: number, what: string): ObjectSource {
  const inspect = src.inspect?.bind(src);
  const headSize = async (): Promise<number> => {
    if (!inspect) throw new Error("no HEAD");
    return (await inspect({ parts: false })).size;
  };
  return {
    id: src.id,
    async fetch(range: ByteRange, signal?: AbortSignal, pinEtag?: string): Promise<Buffer> {
      const atEnd = range.end === size;
      const asked = atEnd ? { start: range.start, end: range.end + 1 } : range;
      const bytes = await src.fetch(asked, signal, pinEtag);
      const want = range.end - range.start;
      if (bytes.length === want) return bytes;
      if (bytes.length > want) await checkObjectSize(what, size, headSize, `more than ${size}`);
      else
        await checkObjectSize(
          what,
          size,
          headSize,
          bytes.length > 0 ? String(range.start + bytes.length) : `at most ${range.start}`,
        );
      // The HEAD says the size is right after all (the object changed between the two
      // requests): the caller's own length check reports the short or long body.
      return bytes.length > want ? bytes.subarray(0, want) : bytes;
    },
    ...(inspect && {
      async inspect(opts: { parts: boolean }): Promise<SourceFacts> {
        const facts = await inspect(opts);
        if (facts.size !== size) throw sizeMismatch(what, size, facts.size);
        return facts;
      },
    }),
  };
}

/**
 * Asks the source for its object's size (one HEAD) and throws the size error when it is not
 * the entry's. For readers that must not start on a large object first: a read within the
 * manifest's size cannot show that the object is longer, and an absurd size must fail
 * before anything is planned for it.
 */
export async function assertObjectSize(src: ObjectSource): Promise<void> {
  await src.inspect?.({ parts: false });
}
