// The streaming manifest reader (src/manifest/manifest-stream.ts) against the whole-file
// reader: on generated manifests it hands out the same entries in the same order and the
// same top hash, or says the layout needs a whole read (NotStreamable), and it refuses the
// manifests readManifest refuses with the same errors.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isQuiltError } from "../../src/errors.js";
import type { ManifestEntry } from "../../src/manifest/manifest.js";
import { readManifest } from "../../src/manifest/manifest-reader.js";
import { NotStreamable, streamManifest } from "../../src/manifest/manifest-stream.js";
import { serializeManifest } from "../../src/manifest/manifest-writer.js";
import { exportRow } from "../../src/api/export-rows.js";
import { randomManifest, rawManifest } from "../helpers/random-manifest.js";

async function streamed(
  text: string | Buffer,
  chunk = 7,
): Promise<{ entries: ManifestEntry[]; topHash: string }> {
  const bytes = Buffer.from(text);
  const pieces: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += chunk) pieces.push(bytes.subarray(i, i + chunk));
  const entries: ManifestEntry[] = [];
  const r = await streamManifest(pieces, (batch) => {
    entries.push(...batch);
  });
  expect(r.entries).toBe(entries.length);
  return { entries, topHash: r.topHash };
}

async function errorOf(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => undefined,
    (err: unknown) => err,
  );
}

const line = (o: object): string => JSON.stringify(o);
const entry = (key: string): string =>
  line({
    logical_key: key,
    physical_keys: [`s3://b/${key}`],
    size: 1,
    hash: { type: "SHA256", value: "00".repeat(32) },
    meta: {},
  });
const header = line({ version: "v0", message: null });

describe("streamManifest", () => {
  it("gives the entries and top hash readManifest gives, for every manifest in quilt3's layout", async () => {
    const cases = fc.sample(randomManifest, { numRuns: 60, seed: 15 });
    for (const [i, m] of cases.entries()) {
      const whole = await readManifest([rawManifest(m, i)]);
      const rewritten = serializeManifest(whole);
      const s = await streamed(rewritten, 1 + (i % 50));
      expect(s.topHash).toBe(whole.topHash);
      expect(s.entries.map(exportRow)).toEqual(whole.entries.map(exportRow));
    }
  });

  it("on shuffled lines agrees with readManifest or asks for a whole read", async () => {
    const cases = fc.sample(randomManifest, { numRuns: 60, seed: 16 });
    let streamedCount = 0;
    for (const [i, m] of cases.entries()) {
      const raw = rawManifest(m, 1000 + i);
      const whole = await readManifest([raw]);
      const s = await errorOf(streamed(raw));
      if (s instanceof NotStreamable) continue;
      const ok = await streamed(raw);
      expect(ok.topHash).toBe(whole.topHash);
      expect(ok.entries.map(exportRow)).toEqual(whole.entries.map(exportRow));
      streamedCount++;
    }
    expect(streamedCount).toBeGreaterThan(0);
  });

  it("refuses entries out of walk order and directory lines after entries as not streamable", async () => {
    const unsorted = [header, entry("b"), entry("a")].join("\n") + "\n";
    expect(await errorOf(streamed(unsorted))).toBeInstanceOf(NotStreamable);
    const lateDir = [header, entry("a"), line({ logical_key: "d/", meta: { x: 1 } })].join("\n") + "\n";
    expect(await errorOf(streamed(lateDir))).toBeInstanceOf(NotStreamable);
    // Walk order is not string order: "a/b" comes before "a-c".
    const walk = [header, entry("a/b"), entry("a-c")].join("\n") + "\n";
    expect((await streamed(walk)).entries.map((e) => e.logicalKey)).toEqual(["a/b", "a-c"]);
  });

  it("refuses what readManifest refuses, with the same message", async () => {
    const bad = [
      [header, entry("a"), entry("a")],
      [header, entry("a"), entry("a/b")],
      [header, line({ logical_key: "a/b/", meta: { x: 1 } }), entry("a")],
      [header, line({ logical_key: "a/b/", meta: { x: 1 } }), entry("a/b")],
      [header, "", entry("a")],
      [header, entry("../x")],
      [],
    ];
    for (const lines of bad) {
      const text = lines.length === 0 ? "" : lines.join("\n") + "\n";
      const fromWhole = await errorOf(readManifest([text]));
      const fromStream = await errorOf(streamed(text));
      expect(isQuiltError(fromWhole), String(fromWhole)).toBe(true);
      expect(fromStream).toMatchObject({ code: (fromWhole as { code: string }).code });
      expect((fromStream as Error).message).toBe((fromWhole as Error).message);
    }
  });
});
