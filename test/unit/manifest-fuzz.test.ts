// The manifest parser fuzzed for a time budget (QUILT_FUZZ_MS, default 15 s): quilt3's
// vectors and generated manifests, mutated (flipped bits, truncation, duplicated, dropped
// and swapped lines, type swaps, huge numbers, deep nesting, enormous strings, hostile keys
// and URLs, invalid UTF-8, control characters), read whole, in random chunks, and through
// the manifest cache. The property: a manifest comes back only when it is sound (safe keys,
// parseable physical keys, a top hash that survives a rewrite and a reread), otherwise a
// QuiltError of a manifest code; never another exception, never a hang.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isQuiltError, QuiltError } from "../../src/errors.js";
import { logicalKeyProblem } from "../../src/manifest/logical-key.js";
import type { Manifest } from "../../src/manifest/manifest.js";
import { readManifest } from "../../src/manifest/manifest-reader.js";
import { serializeManifest } from "../../src/manifest/manifest-writer.js";
import { ManifestCache } from "../../src/storage/manifest-cache.js";
import type { TopHash } from "../../src/types.js";
import { caseIndices, caseRng, fuzzRun, reproduce, type Rng } from "../helpers/fuzz.js";
import { mutate } from "../helpers/manifest-mutations.js";
import { randomManifest, rawManifest } from "../helpers/random-manifest.js";

const FILE = "test/unit/manifest-fuzz.test.ts";
const VECTORS = join(import.meta.dirname, "..", "fixtures", "quilt3-vectors");
/** What the reader may throw: the manifest is malformed, a key is unsafe, or it is not the one named. */
const READ_CODES = ["EBADMANIFEST", "EBADKEY", "EHASHMISMATCH"];
/** What the writer may refuse with: values quilt3 cannot write either (NaN, lone surrogates, records over 1 MB). */
const WRITE_CODES = ["EUSAGE"];
/** "Did not hang": a case is at most a few MiB, and takes well under a second (seconds on a loaded machine). */
const CASE_HANG_MS = 30_000;
const RSS_LIMIT = 2 * 1024 ** 3;

type Outcome = { ok: true; topHash: string } | { ok: false; code: string };

/** Reads `source`; any exception that is not an allowed QuiltError fails the case. */
async function outcome(source: Iterable<Uint8Array>, check: (m: Manifest) => void): Promise<Outcome> {
  let m: Manifest;
  try {
    m = await readManifest(source);
  } catch (err) {
    if (isQuiltError(err) && READ_CODES.includes(err.code)) return { ok: false, code: err.code };
    throw new Error(`the reader threw ${describeError(err)}`, { cause: err });
  }
  check(m);
  return { ok: true, topHash: m.topHash };
}

function describeError(err: unknown): string {
  return err instanceof QuiltError
    ? `QuiltError ${err.code}: ${err.message.slice(0, 200)}`
    : `${(err as Error)?.name}: ${String((err as Error)?.message).slice(0, 200)}`;
}

/** A manifest that was returned must be sound. */
async function checkSound(m: Manifest): Promise<void> {
  for (const e of m.entries) {
    expect(logicalKeyProblem(e.logicalKey), e.logicalKey.slice(0, 80)).toBeNull();
    expect(e.logicalKey.isWellFormed(), "logical key is well-formed Unicode").toBe(true);
    expect(Number.isSafeInteger(e.size) && e.size >= 0).toBe(true);
    expect(typeof e.physicalKey.toString()).toBe("string");
  }
  for (const dir of m.dirMeta.keys()) {
    expect(
      dir.endsWith("/") && logicalKeyProblem(dir.slice(0, -1)) === null && dir.isWellFormed(),
      dir.slice(0, 80),
    ).toBe(true);
  }
  // The top hash recomputes from what a rewrite says: nothing was lost or changed on the way.
  let bytes: Buffer;
  try {
    bytes = serializeManifest(m);
  } catch (err) {
    if (isQuiltError(err) && WRITE_CODES.includes(err.code)) return;
    throw new Error(`the writer threw ${describeError(err)}`, { cause: err });
  }
  expect((await readManifest([bytes])).topHash, "top hash after a rewrite and a reread").toBe(m.topHash);
}

/** The bytes in random pieces, as a stream would deliver them (cutting UTF-8 sequences and lines anywhere). */
function chunks(bytes: Buffer, r: Rng): Buffer[] {
  const out: Buffer[] = [];
  // At most ~20,000 pieces: a megabyte in single bytes tests the event loop, not the reader.
  const max = Math.max(r.pick([1, 7, 4096, 65_536]), Math.ceil(bytes.length / 10_000));
  for (let at = 0; at < bytes.length;) {
    const n = r.int(1, max);
    out.push(bytes.subarray(at, at + n));
    at += n;
  }
  return out;
}

function corpus(seed: number): { bytes: Buffer; topHash?: string }[] {
  const vectors = ["empty_build.jsonl", "load_into_quilt_push.jsonl", "own_tiny_sha256.jsonl"].map((f) => ({
    bytes: readFileSync(join(VECTORS, f)),
  }));
  const generated = fc
    .sample(randomManifest, { numRuns: 24, seed })
    .map((m, i) => ({ bytes: Buffer.from(rawManifest(m, seed + i), "utf8") }));
  return [...vectors, ...generated];
}

describe("manifest parser limits", () => {
  it(
    "reads a 16 MiB line that arrives in 1 KiB chunks in linear time (it copied 128 GiB before)",
    { timeout: 120_000 },
    async () => {
      const big = "x".repeat(16 << 20);
      const text = Buffer.from(
        `{"version": "v0", "message": null, "user_meta": {"big": "${big}"}}\n`,
        "utf8",
      );
      const pieces: Buffer[] = [];
      for (let at = 0; at < text.length; at += 1024) pieces.push(text.subarray(at, at + 1024));
      const started = Date.now();
      const m = await readManifest(pieces);
      expect(m.message).toBeNull();
      expect(Date.now() - started, "did not hang").toBeLessThan(20_000);
    },
  );

  it("refuses nesting deeper than quilt3 can read with a line and column, whatever the path through the reader", async () => {
    const header = '{"version": "v0", "message": null}\n';
    const deep = (n: number, extra = "") => `{"a": ${"[".repeat(n)}${"]".repeat(n)}${extra}}`;
    const entry = (meta: string) =>
      `{"logical_key": "k", "physical_keys": ["s3://b/k"], "size": 1, "hash": {"type": "SHA256", "value": "00"}, "meta": ${meta}}\n`;
    for (const text of [
      deep(100_000) + "\n",
      deep(100_000, ', "f": 1.5') + "\n",
      header + entry(deep(1001)),
      header + entry(deep(5000, ', "f": 1.5')),
    ]) {
      await expect(readManifest([text])).rejects.toMatchObject({
        code: "EBADMANIFEST",
        message: expect.stringMatching(
          /^Manifest line \d: bad JSON: Nested deeper than 1000 levels at column \d+$/,
        ),
      });
    }
    // As deep as quilt3 itself can read: accepted, hashed and written back.
    const m = await readManifest([header + entry(deep(990))]);
    expect((await readManifest([serializeManifest(m)])).topHash).toBe(m.topHash);
  });

  it("refuses a logical key with a lone surrogate, and will not write one where it would become U+FFFD", async () => {
    const header = '{"version": "v0", "message": null}\n';
    const entry = (key: string, meta = "{}") =>
      `{"logical_key": "${key}", "physical_keys": ["s3://b/k"], "size": 1, "hash": {"type": "SHA256", "value": "00"}, "meta": ${meta}}\n`;
    // Both keys would be the one file "a\ufffd" on disk.
    for (const key of ["a\\ud800", "a/\\udfff/b", "\\udc00x"]) {
      await expect(readManifest([header + entry(key)])).rejects.toMatchObject({
        code: "EBADMANIFEST",
        message: expect.stringContaining("not valid Unicode"),
      });
    }
    // Python reads a lone surrogate in a value (so do we) but cannot write it as UTF-8: neither
    // may the writer, rather than write U+FFFD under another top hash.
    const m = await readManifest([header + entry("k", '{"user_meta": "x\\ud800"}')]);
    expect(() => serializeManifest(m)).toThrow(
      expect.objectContaining({ code: "EUSAGE", message: expect.stringContaining("lone surrogate") }),
    );
  });
});

describe("manifest parser fuzz", () => {
  it(
    "returns sound manifests or a manifest QuiltError, whatever the bytes",
    { timeout: 180_000 },
    async () => {
      const run = fuzzRun("manifest fuzz", 15_000);
      const seeds = corpus(run.seed);
      for (const s of seeds) s.topHash = (await readManifest([s.bytes])).topHash;
      const cache = new ManifestCache(null, "fuzz://registry");
      const only = caseIndices();
      const deadline = Date.now() + run.budgetMs;
      let cases = 0;
      const codes = new Map<string, number>();
      for (let i = 0; only ? i < only.length : Date.now() < deadline; i++) {
        const index = only ? (only[i] as number) : i;
        const r = caseRng(run.seed, index);
        const source = r.pick(seeds);
        const { bytes, applied } = mutate(source.bytes, r);
        const where = `case ${index} (${applied.join(", ")}; ${bytes.length} bytes); ${reproduce(run, FILE, index)}`;
        const started = Date.now();
        try {
          const whole = await outcome([bytes], () => undefined);
          if (whole.ok) await checkSound(await readManifest([bytes]));
          // Streaming gives the same verdict as one buffer, wherever the chunks are cut.
          const streamed = await outcome(chunks(bytes, r), () => undefined);
          expect(streamed.ok ? streamed.topHash : streamed.code, "streamed in chunks").toBe(
            whole.ok ? whole.topHash : whole.code,
          );
          // Loading under the unmutated manifest's name: that manifest, or a refusal.
          const name = source.topHash as TopHash;
          try {
            expect((await cache.put("fuzz/pkg", name, bytes, "fuzz")).topHash).toBe(name);
          } catch (err) {
            if (!(isQuiltError(err) && READ_CODES.includes(err.code)))
              throw new Error(`the manifest cache threw ${describeError(err)}`, { cause: err });
          }
          codes.set(whole.ok ? "ok" : whole.code, (codes.get(whole.ok ? "ok" : whole.code) ?? 0) + 1);
        } catch (err) {
          throw new Error(`${where}: ${(err as Error).message}`, { cause: err });
        }
        expect(Date.now() - started, `${where}: took too long (a hang)`).toBeLessThan(CASE_HANG_MS);
        expect(process.memoryUsage.rss(), `${where}: memory`).toBeLessThan(RSS_LIMIT);
        cases++;
      }
      console.log(`manifest fuzz: ${cases} cases, outcomes ${JSON.stringify(Object.fromEntries(codes))}`);
      expect(cases).toBeGreaterThan(0);
    },
  );
});
