// Reading through a real mount served by the daemon the CLI starts, against moto through a
// fault-injecting proxy: every file is byte-identical to its source (nested directories,
// empty files, unicode names, a file larger than the cache limit); concurrent, random and
// sequential readers get the right bytes; a read that S3 keeps failing answers EIO, the
// mount stays up, and the next read works.
import { open, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DaemonSandbox, waitFor } from "../helpers/daemon-harness.js";
import { mountDifferences, publishFiles, pseudoRandomBytes, sha256Hex } from "../helpers/daemon-fixtures.js";
import { startFaultProxy, type FaultProxy, type SeenRequest } from "../helpers/daemon-proxy.js";
import { fuseUnavailable } from "../helpers/fuse-harness.js";
import { s3TestEnv, uniquePrefix } from "../helpers/s3.js";

const unavailable = fuseUnavailable();
if (unavailable) console.warn(`Skipping daemon read tests: ${unavailable}`);

const s3 = s3TestEnv();
const registry = `s3://${s3.bucket}`;
const salt = uniquePrefix("dmread");
const name = `${salt}/reads`;
const MiB = 1024 * 1024;

/** Larger than the --cache-size the daemon runs with (2M), so it can never be cached whole. */
const BIG_KEY = "big/larger-than-cache.bin";
/** Read first while S3 fails for it, so it must not be read (and cached) before. */
const FLAKY_KEY = "faulty/flaky.bin";
const SHARED_KEY = "medium/one-mib-plus.bin";
const RANDOM_KEY = "random/access.bin";
/** Each read first by its own test (never from the kernel's page cache). */
const RESERVED = [FLAKY_KEY, SHARED_KEY, RANDOM_KEY, BIG_KEY];
const FILES: Record<string, Buffer> = {
  "README.md": Buffer.from(`# Reads ${salt}\n`),
  "empty.txt": Buffer.alloc(0),
  "nested/empty-too.bin": Buffer.alloc(0),
  "nested/a/b/c/deep.bin": pseudoRandomBytes(70_001, `${salt}-deep`),
  "nested/a/sibling.csv": Buffer.from("x,y\n1,2\n3,4\n"),
  "données/été 2024.csv": Buffer.from("jour,température\n1,21.5\n"),
  "unicode/日本語/ファイル.dat": pseudoRandomBytes(777, `${salt}-jp`),
  "unicode/😀 emoji.bin": pseudoRandomBytes(65_537, `${salt}-emoji`),
  "odd names/a b+c%20d&e=f.txt": Buffer.from("space, plus, percent\n"),
  [SHARED_KEY]: pseudoRandomBytes(MiB + 17, `${salt}-mib`),
  [RANDOM_KEY]: pseudoRandomBytes(3 * MiB + 5, `${salt}-random`),
  [FLAKY_KEY]: pseudoRandomBytes(200_000, `${salt}-flaky`),
  [BIG_KEY]: pseudoRandomBytes(5 * MiB + 123, `${salt}-big`),
};

/** Bytes asked for by ranged GETs ("bytes=a-b"); a GET without a range counts as unknown (fails the caller's bound). */
function rangeBytes(gets: SeenRequest[]): number {
  let n = 0;
  for (const g of gets) {
    const m = /^bytes=(\d+)-(\d+)$/.exec(g.range ?? "");
    n += m ? Number(m[2]) - Number(m[1]) + 1 : Number.MAX_SAFE_INTEGER;
  }
  return n;
}

describe.skipIf(unavailable !== null)("daemon: reads through a mount", () => {
  let proxy: FaultProxy;
  let box: DaemonSandbox;
  let mnt = "";

  beforeAll(async () => {
    await publishFiles(s3.endpoint, registry, name, FILES, { prefix: `${salt}-data/` });
    proxy = await startFaultProxy(s3.endpoint);
    box = await DaemonSandbox.create("reads", { endpoint: proxy.endpoint });
    mnt = await box.mountDir();
    await box.mount(`${name}:v1`, mnt, registry, ["--cache-size", "2M"]);
  });

  afterAll(async () => {
    await box?.cleanup();
    await proxy?.close();
  });

  it("serves files byte-identical to their source: nested, empty, unicode names", async () => {
    expect(await mountDifferences(mnt, FILES, RESERVED)).toEqual([]);
  });

  it("gives concurrent readers of one file the same correct bytes", async () => {
    const key = SHARED_KEY;
    const want = sha256Hex(FILES[key] as Buffer);
    const reads = await Promise.all(Array.from({ length: 8 }, () => readFile(join(mnt, key))));
    for (const got of reads) expect(sha256Hex(got)).toBe(want);
    // One fetch per block: eight readers did not fetch the file eight times.
    expect(rangeBytes(proxy.gets(`${salt}-data/${key}`))).toBeLessThanOrEqual(
      2 * (FILES[key] as Buffer).length,
    );
  });

  it("answers random reads with the right bytes", async () => {
    const key = RANDOM_KEY;
    const src = FILES[key] as Buffer;
    const fh = await open(join(mnt, key), "r");
    try {
      let seed = 12345;
      const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
      for (let i = 0; i < 60; i++) {
        const len = [1, 4096, 65_536, 300_000][i % 4] as number;
        const pos = next() % src.length;
        const buf = Buffer.alloc(len);
        const { bytesRead } = await fh.read(buf, 0, len, pos);
        expect(bytesRead).toBe(Math.min(len, src.length - pos));
        expect(
          buf.subarray(0, bytesRead).equals(src.subarray(pos, pos + bytesRead)),
          `read of ${len} at ${pos}`,
        ).toBe(true);
      }
      // Past the end: nothing.
      const { bytesRead } = await fh.read(Buffer.alloc(10), 0, 10, src.length);
      expect(bytesRead).toBe(0);
    } finally {
      await fh.close();
    }
  });

  it("answers sequential reads in small pieces with the right bytes, for a file larger than the cache", async () => {
    const key = BIG_KEY;
    const src = FILES[key] as Buffer;
    const fh = await open(join(mnt, key), "r");
    try {
      const parts: Buffer[] = [];
      for (let pos = 0; ;) {
        const buf = Buffer.alloc(100_000);
        const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
        if (bytesRead === 0) break;
        parts.push(buf.subarray(0, bytesRead));
        pos += bytesRead;
      }
      expect(sha256Hex(Buffer.concat(parts))).toBe(sha256Hex(src));
    } finally {
      await fh.close();
    }
    const stats = await box.stats();
    expect(stats.cache.maxBytes).toBe(2 * MiB);
    // The size limit held while a 5 MiB file went through the cache...
    expect(stats.cache.bytes).toBeLessThanOrEqual(2 * MiB);
    expect(stats.cache.hashMismatches).toBe(0);
    // ...and one pass over it fetched about its size, not the whole file per read.
    const fetched = rangeBytes(proxy.gets(`${salt}-data/${BIG_KEY}`));
    expect(fetched).toBeGreaterThanOrEqual(src.length);
    expect(fetched).toBeLessThanOrEqual(2 * src.length);
  });

  it("fails a read S3 keeps failing with EIO, keeps the mount up, and the next read works", async () => {
    const key = FLAKY_KEY;
    proxy.failGets(`${salt}-data/${key}`);
    const before = proxy.gets(`${salt}-data/${key}`).length;
    const err = await readFile(join(mnt, key)).then(
      () => undefined,
      (e: NodeJS.ErrnoException) => e,
    );
    expect(err?.code).toBe("EIO");
    // The daemon retried (bounded), then gave up.
    const failed = proxy.gets(`${salt}-data/${key}`).length - before;
    expect(failed).toBeGreaterThan(1);
    expect(failed).toBeLessThanOrEqual(20);
    // Other files still read while the fault lasts.
    expect((await readFile(join(mnt, "README.md"))).equals(FILES["README.md"] as Buffer)).toBe(true);
    proxy.clearFaults();
    const again = await readFile(join(mnt, key));
    expect(sha256Hex(again)).toBe(sha256Hex(FILES[key] as Buffer));
    const status = await box.stats();
    expect(status.mounts).toBe(1);
    // Logged once, with the key.
    const logged = async () =>
      (await readFile(box.logFile, "utf8"))
        .split("\n")
        .filter((l) => l.includes(`"key":"${key}"`) && l.includes("read failed"));
    await waitFor(async () => (await logged()).length > 0, 5_000, "the failed read in the daemon log");
    expect(await logged()).toHaveLength(1);
  });

  it("still serves every file byte-identical at the end", async () => {
    expect(await mountDifferences(mnt, FILES)).toEqual([]);
  });
});
