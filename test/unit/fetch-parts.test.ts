// Large-object fetching: how an object is split into long parallel parts, and that a part
// whose body breaks off resumes at its first unfinished chunk, writes the right bytes and
// yields the manifest's sha2-256-chunked hash.
import { randomBytes } from "node:crypto";
import { mkdtemp, open, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BASE_CHUNK_BYTES, hashBytes } from "../../src/manifest/checksums.js";
import { fetchChunkedParts, MAX_PART_BYTES, planParts } from "../../src/api/fetch-parts.js";
import type { ByteRange } from "../../src/storage/object-store.js";
import { Limiter } from "../../src/limiter.js";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

describe("planParts", () => {
  it("splits a 1 GiB object into one part per connection, aligned to chunks", () => {
    const parts = planParts(GiB, BASE_CHUNK_BYTES, 16);
    expect(parts).toHaveLength(16);
    expect(parts.every((p) => p.end - p.start === 64 * MiB)).toBe(true);
    expect(parts[15]?.end).toBe(GiB);
  });

  it("never makes a part smaller than a chunk, and keeps the short tail", () => {
    expect(planParts(9 * MiB, BASE_CHUNK_BYTES, 16)).toEqual([
      { start: 0, end: 8 * MiB },
      { start: 8 * MiB, end: 9 * MiB },
    ]);
  });

  it("caps parts at MAX_PART_BYTES, so a huge object still spreads and retries a bounded span", () => {
    const parts = planParts(16 * GiB, BASE_CHUNK_BYTES, 4);
    expect(parts).toHaveLength((16 * GiB) / MAX_PART_BYTES);
    expect(Math.max(...parts.map((p) => p.end - p.start))).toBe(MAX_PART_BYTES);
  });

  it("covers the object exactly once", () => {
    const size = 100 * MiB + 12345;
    const parts = planParts(size, BASE_CHUNK_BYTES, 3);
    let pos = 0;
    for (const p of parts) {
      expect(p.start).toBe(pos);
      expect(p.start % BASE_CHUNK_BYTES).toBe(0);
      pos = p.end;
    }
    expect(pos).toBe(size);
  });
});

describe("fetchChunkedParts", () => {
  // 20 MiB = chunks of 8 + 8 + 4 MiB; with 2 connections: parts [0, 16 MiB) and [16, 20 MiB).
  const data = randomBytes(20 * MiB);
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "quilt-fetch-parts-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Serves ranges of `data` in 1 MiB pieces; `script` may cut a response short or fail it. */
  function server(
    script: (
      range: ByteRange,
      n: number,
    ) => { cutAfter?: number; fail?: Error; extra?: boolean } = () => ({}),
  ) {
    const requests: ByteRange[] = [];
    const getRange = async (range: ByteRange): Promise<Readable> => {
      requests.push(range);
      const plan = script(range, requests.length);
      if (plan.fail && plan.cutAfter === undefined) throw plan.fail;
      const bytes = data.subarray(range.start, range.end);
      return Readable.from(
        (function* () {
          for (let pos = 0; pos < bytes.length; pos += MiB) {
            if (plan.cutAfter !== undefined && pos >= plan.cutAfter) {
              if (plan.fail) throw plan.fail;
              return;
            }
            yield bytes.subarray(pos, Math.min(bytes.length, pos + MiB));
          }
          if (plan.extra) yield Buffer.from("x");
        })(),
      );
    };
    return { requests, getRange };
  }

  async function fetchWith(getRange: (r: ByteRange) => Promise<Readable>, connections = 2) {
    const path = join(dir, "out.bin");
    const fh = await open(path, "w");
    let progress = 0;
    try {
      const value = await fetchChunkedParts({
        what: "big.bin",
        size: data.length,
        fh,
        requests: new Limiter(connections),
        getRange,
        onBytes: (n) => (progress += n),
      });
      return { value, progress, path };
    } finally {
      await fh.close();
    }
  }

  it("writes the object and returns its hash with one request per part", async () => {
    const s = server();
    const { value, progress, path } = await fetchWith(s.getRange);
    expect(value).toBe((await hashBytes(data)).value);
    expect(progress).toBe(data.length);
    expect((await readFile(path)).equals(data)).toBe(true);
    expect(s.requests.sort((a, b) => a.start - b.start)).toEqual([
      { start: 0, end: 16 * MiB },
      { start: 16 * MiB, end: 20 * MiB },
    ]);
  });

  it("resumes a broken part at the chunk it was in, not at the part's start", async () => {
    const reset = Object.assign(new Error("socket hang up"), { code: "ECONNRESET" });
    // The first response for the first part breaks 10 MiB in: chunk 0 is done, chunk 1 is not.
    const s = server((range, n) => (range.start === 0 && n <= 2 ? { cutAfter: 10 * MiB, fail: reset } : {}));
    const { value, path } = await fetchWith(s.getRange);
    expect(value).toBe((await hashBytes(data)).value);
    expect((await readFile(path)).equals(data)).toBe(true);
    expect(s.requests).toContainEqual({ start: 8 * MiB, end: 16 * MiB });
    expect(s.requests.filter((r) => r.start === 0)).toHaveLength(1);
  });

  it("treats a body that ends early like a dropped connection", async () => {
    const s = server((range, n) => (range.start === 16 * MiB && n <= 2 ? { cutAfter: 2 * MiB } : {}));
    const { value } = await fetchWith(s.getRange);
    expect(value).toBe((await hashBytes(data)).value);
    expect(s.requests.filter((r) => r.start === 16 * MiB)).toHaveLength(2);
  });

  it("gives up after three failures in a row without progress", async () => {
    const reset = Object.assign(new Error("socket hang up"), { code: "ECONNRESET" });
    const s = server((range) => (range.start === 16 * MiB ? { cutAfter: MiB, fail: reset } : {}));
    await expect(fetchWith(s.getRange)).rejects.toThrow(/socket hang up/);
    expect(s.requests.filter((r) => r.start === 16 * MiB)).toHaveLength(3);
  });

  it("does not repeat a request that failed for good", async () => {
    const denied = Object.assign(new Error("Access Denied"), {
      name: "AccessDenied",
      $metadata: { httpStatusCode: 403 },
    });
    const s = server((range) => (range.start === 0 ? { fail: denied } : {}));
    await expect(fetchWith(s.getRange)).rejects.toThrow(/Access Denied/);
    expect(s.requests.filter((r) => r.start === 0)).toHaveLength(1);
  });

  it("refuses a body longer than the range asked for", async () => {
    const s = server((range) => (range.start === 16 * MiB ? { extra: true } : {}));
    await expect(fetchWith(s.getRange)).rejects.toMatchObject({ code: "EHASHMISMATCH" });
  });
});
