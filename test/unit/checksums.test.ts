// Entry hashes must equal quilt3's byte for byte: the vectors of QUILT_FORMAT.md, plus values
// computed by quilt3 8.0.0 itself for CRC64NVME and chunk boundaries, through every way in
// (bytes, streams split anywhere, files, the thread pool).
import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { isQuiltError } from "../../src/errors.js";
import {
  EntryHasher,
  HASH_TYPES,
  assertHashType,
  chunkSizeFor,
  hashBytes,
  hashFile,
  hashFileSized,
  hashStream,
  verifyFile,
  verifyHash,
  type HashType,
} from "../../src/manifest/checksums.js";
import { HashPool } from "../../src/manifest/hash-pool.js";

const MiB = 1024 * 1024;

/** Byte i is i mod 251: the pattern of the QUILT_FORMAT.md vector (251 is prime, so chunks differ). */
function pattern(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = i % 251;
  return bytes;
}

const TEXT = new TextEncoder().encode("# This is a test package\n");
const HELLO = new TextEncoder().encode("Hello, World!");
const BIG = pattern(20_971_520);

// Values from quilt3 8.0.0, computed once with
//   /path/to/venv/bin/python -c 'from quilt3.checksums import calculate_multipart_checksum_bytes as m; ...'
// i.e. m(data, checksum_type="CRC64NVME") and m(data, checksum_type="sha2-256-chunked"), where
// quilt3 hashes each 8 MiB part separately and combines the parts (awscrt combine_crc64nvme).
const QUILT3_CRC64NVME = {
  empty: "AAAAAAAAAAA=",
  text: "y93RbOzrlbo=",
  hello: "1Km+Qyat0k0=",
  big: "Xi9l6GgGX70=", // BIG (3 parts)
  bigPlusX: "Lr4jDXnVWls=", // BIG followed by the byte "x"
  pattern8MiB: "Ya+jmlQWRfU=",
  pattern16MiB: "IHp5hwfYQu0=",
  pattern16MiBPlus1: "N3ZGLEwe+V4=",
};
const QUILT3_CHUNKED = {
  pattern8MiB: "whpkwkcwr96hravZsp8gSFeGK+8jfS3ufa9dUl1DIT8=", // exactly one chunk
  pattern16MiB: "ft2PsVyCM81w/LVaSmHXz+f2fOBl44gAWMLPuYSXnmU=", // exactly two chunks
  pattern16MiBPlus1: "xn+0VwAoNxml6DKGsSWEFS9ws9yfvEKc4jZgHa+aqi8=", // a third 1-byte chunk
};

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "quilt-checksums-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function fileWith(name: string, bytes: Uint8Array): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return path;
}

/** Feeds `bytes` to a fresh hasher in pieces of the given sizes, cycling through them. */
async function hashInPieces(bytes: Uint8Array, type: HashType, pieces: number[]) {
  const hasher = new EntryHasher(type, bytes.length);
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const n = pieces[i % pieces.length] as number;
    hasher.update(bytes.subarray(at, at + n));
    at += n;
  }
  return hasher.digest();
}

describe("QUILT_FORMAT.md vectors", () => {
  test("sha2-256-chunked of the 25-byte text", async () => {
    expect(TEXT.length).toBe(25);
    expect(await hashBytes(TEXT)).toEqual({
      type: "sha2-256-chunked",
      value: "JvRxeMunq4eK7c1I8s4YNg2ajaE9BtNEg/0pdpEGv58=",
    });
    expect(await hashFile(await fileWith("text", TEXT))).toEqual(await hashBytes(TEXT));
  });

  test("20,971,520 bytes of i mod 251: chunked and plain sha256", async () => {
    const path = await fileWith("big", BIG);
    const chunked = "4pJ+jcrcQml9inpWNdCVlzLyR1NtbapsvW052ozmjBI=";
    const plain = "99254018a4506cae413a471f8b9d968a1ab1771565f3247b6e1c3f927e9a572f";
    expect(await hashBytes(BIG)).toEqual({ type: "sha2-256-chunked", value: chunked });
    expect(await hashBytes(BIG, "SHA256")).toEqual({ type: "SHA256", value: plain });
    expect(await hashFile(path)).toEqual({ type: "sha2-256-chunked", value: chunked });
    expect(await hashFileSized(path, "SHA256")).toEqual({
      hash: { type: "SHA256", value: plain },
      size: BIG.length,
    });
  });

  test("SHA256 of Hello, World!", async () => {
    const value = "dffd6021bb2bd5b0af676290809ec3a53191dd81c7f70a4b28688a362182986f";
    expect(await hashBytes(HELLO, "SHA256")).toEqual({ type: "SHA256", value });
    expect(await hashFile(await fileWith("hello", HELLO), "SHA256")).toEqual({ type: "SHA256", value });
  });

  test("the empty file has no chunks", async () => {
    const value = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
    expect(await hashBytes(new Uint8Array(0))).toEqual({ type: "sha2-256-chunked", value });
    expect(await hashFileSized(await fileWith("empty", new Uint8Array(0)))).toEqual({
      hash: { type: "sha2-256-chunked", value },
      size: 0,
    });
  });
});

describe("sha2-256-chunked structure", () => {
  test("a file up to one chunk is base64(sha256(sha256(data)))", async () => {
    for (const size of [1, 251, 8 * MiB - 1, 8 * MiB]) {
      const data = pattern(size);
      const inner = createHash("sha256").update(data).digest();
      expect((await hashBytes(data)).value).toBe(createHash("sha256").update(inner).digest("base64"));
    }
  });

  test("chunk boundaries match quilt3", async () => {
    const data = pattern(16 * MiB + 1);
    expect((await hashBytes(data.subarray(0, 8 * MiB))).value).toBe(QUILT3_CHUNKED.pattern8MiB);
    expect((await hashBytes(data.subarray(0, 16 * MiB))).value).toBe(QUILT3_CHUNKED.pattern16MiB);
    expect((await hashBytes(data)).value).toBe(QUILT3_CHUNKED.pattern16MiBPlus1);
  });

  test("chunk size doubles while more than 10,000 chunks would be needed", () => {
    // Expected values from quilt3's get_checksum_chunksize.
    expect(chunkSizeFor(0)).toBe(8 * MiB);
    expect(chunkSizeFor(1)).toBe(8 * MiB);
    expect(chunkSizeFor(10_000 * 8 * MiB)).toBe(8 * MiB);
    expect(chunkSizeFor(10_000 * 8 * MiB + 1)).toBe(16 * MiB);
    expect(chunkSizeFor(10_000 * 16 * MiB + 1)).toBe(32 * MiB);
    expect(chunkSizeFor(5 * 1024 * 1024 * MiB)).toBe(1024 * MiB); // 5 TiB, the S3 object limit
    expect(() => chunkSizeFor(-1)).toThrow(/invalid file size/);
  });

  test("a hasher cuts chunks by the chunk size of its declared size", () => {
    expect(new EntryHasher("sha2-256-chunked", 10_000 * 8 * MiB).chunkBytes).toBe(8 * MiB);
    expect(new EntryHasher("sha2-256-chunked", 10_000 * 8 * MiB + 1).chunkBytes).toBe(16 * MiB);
  });

  test("a hasher refuses more or fewer bytes than its declared size", async () => {
    const over = new EntryHasher("sha2-256-chunked", 10);
    over.update(TEXT.subarray(0, 6));
    expect(() => over.update(TEXT.subarray(0, 5))).toThrow(/more than the expected 10 bytes/);
    const under = new EntryHasher("SHA256", 10);
    under.update(TEXT.subarray(0, 9));
    await expect(under.digest()).rejects.toSatisfy(
      (err) => isQuiltError(err, "EHASHMISMATCH") && /got 9 bytes, expected 10/.test(err.message),
    );
  });
});

describe("incremental hashing", () => {
  test.each(HASH_TYPES)("%s gives the same value however the stream is split", async (type) => {
    const whole = await hashBytes(BIG, type);
    // Odd sizes that straddle the 8 MiB chunk boundaries at different offsets.
    for (const pieces of [[1], [7, 4093, 1_000_003], [8 * MiB - 1, 2], [8 * MiB + 3], [BIG.length]]) {
      if (pieces[0] === 1) {
        // One byte at a time over the whole 20 MiB would be slow: check a small prefix instead.
        const small = BIG.subarray(0, 5000);
        expect(await hashInPieces(small, type, [1])).toEqual(await hashBytes(small, type));
        continue;
      }
      expect(await hashInPieces(BIG, type, pieces)).toEqual(whole);
    }
  });

  test("hashStream accepts any chunking and checks the size", async () => {
    async function* pieces(bytes: Uint8Array, n: number) {
      for (let at = 0; at < bytes.length; at += n) yield bytes.subarray(at, at + n);
    }
    expect(await hashStream(pieces(BIG, 3 * MiB + 17), BIG.length)).toEqual(await hashBytes(BIG));
    expect(await hashStream(pieces(HELLO, 5), HELLO.length, "SHA256")).toEqual(
      await hashBytes(HELLO, "SHA256"),
    );
    const short = hashStream(pieces(HELLO, 5), HELLO.length + 1);
    await expect(short).rejects.toSatisfy((err) => isQuiltError(err, "EHASHMISMATCH"));
  });

  test("a hasher refuses to be used after digest", async () => {
    const hasher = new EntryHasher("SHA256", 0);
    await hasher.digest();
    expect(() => hasher.update(new Uint8Array(0))).toThrow(/after digest/);
    await expect(hasher.digest()).rejects.toThrow(/twice/);
  });
});

describe("CRC64NVME", () => {
  test("matches quilt3 (per-part CRCs combined) for small and multi-part inputs", async () => {
    const crc = async (bytes: Uint8Array) => (await hashBytes(bytes, "CRC64NVME")).value;
    expect(await crc(new Uint8Array(0))).toBe(QUILT3_CRC64NVME.empty);
    expect(await crc(TEXT)).toBe(QUILT3_CRC64NVME.text);
    expect(await crc(HELLO)).toBe(QUILT3_CRC64NVME.hello);
    expect(await crc(BIG)).toBe(QUILT3_CRC64NVME.big);
    const plusX = new Uint8Array(BIG.length + 1);
    plusX.set(BIG);
    plusX[BIG.length] = "x".charCodeAt(0);
    expect(await crc(plusX)).toBe(QUILT3_CRC64NVME.bigPlusX);
    const p = pattern(16 * MiB + 1);
    expect(await crc(p.subarray(0, 8 * MiB))).toBe(QUILT3_CRC64NVME.pattern8MiB);
    expect(await crc(p.subarray(0, 16 * MiB))).toBe(QUILT3_CRC64NVME.pattern16MiB);
    expect(await crc(p)).toBe(QUILT3_CRC64NVME.pattern16MiBPlus1);
  });

  test("from a file", async () => {
    expect(await hashFile(await fileWith("crc-big", BIG), "CRC64NVME")).toEqual({
      type: "CRC64NVME",
      value: QUILT3_CRC64NVME.big,
    });
  });
});

describe("types and verification", () => {
  test("unknown hash types are refused with EUSAGE", () => {
    expect(assertHashType("SHA256")).toBe("SHA256");
    for (const bad of ["sha256", "MD5", ""]) {
      expect(() => assertHashType(bad)).toThrow(/unsupported hash type/);
      let caught: unknown;
      try {
        new EntryHasher(bad as HashType, 0);
      } catch (err) {
        caught = err;
      }
      expect(isQuiltError(caught, "EUSAGE")).toBe(true);
    }
  });

  test("verifyHash and verifyFile", async () => {
    const path = await fileWith("verify", TEXT);
    const good = await hashBytes(TEXT);
    await expect(verifyFile(path, good)).resolves.toBeUndefined();
    await expect(
      verifyFile(path, { type: "sha2-256-chunked", value: QUILT3_CHUNKED.pattern8MiB }),
    ).rejects.toSatisfy((err) => isQuiltError(err, "EHASHMISMATCH"));
    await expect(verifyFile(path, { type: "MD5", value: "x" })).rejects.toSatisfy((err) =>
      isQuiltError(err, "EUSAGE"),
    );
    const hex = await hashBytes(HELLO, "SHA256");
    expect(() => verifyHash({ type: "SHA256", value: hex.value.toUpperCase() }, hex)).not.toThrow();
    expect(() => verifyHash(good, hex)).toThrow(/cannot compare/);
  });
});

describe("hash pool", () => {
  let pool: HashPool;
  beforeAll(() => {
    pool = new HashPool({ threads: 2 });
  });
  afterAll(async () => {
    await pool.close();
  });

  test("many files give hashFile's results, in input order, for every type", async () => {
    const sizes = [0, 1, 25, 251, 4096, 100 * 1024, 8 * MiB, 8 * MiB + 1, 3 * MiB + 7];
    const paths: string[] = [];
    for (let i = 0; i < 60; i++) {
      const size = sizes[i % sizes.length] as number;
      const bytes = pattern(size + (i % 5)).map((b) => (b + i) & 255);
      paths.push(await fileWith(`many-${i}`, bytes));
    }
    for (const type of HASH_TYPES) {
      const progress: number[] = [];
      const results = await pool.hashFiles(paths, type, { onProgress: (p) => progress.push(p.filesDone) });
      expect(results).toHaveLength(paths.length);
      for (const [i, path] of paths.entries()) expect(results[i]).toEqual(await hashFileSized(path, type));
      expect(progress.at(-1)).toBe(paths.length);
    }
  });

  test("a file large enough to be split over the threads hashes like hashFile", async () => {
    // Above the pool's 64 MiB split threshold, with a short last chunk.
    const path = await fileWith("split", pattern(64 * MiB + 5 * MiB + 3));
    const [split] = await pool.hashFiles([path, await fileWith("split-small", TEXT)]);
    expect(split).toEqual(await hashFileSized(path));
    const [crc] = await pool.hashFiles([path], "CRC64NVME");
    expect(crc).toEqual(await hashFileSized(path, "CRC64NVME"));
  });

  test("a missing file rejects the whole call with the fs error", async () => {
    const paths = [await fileWith("ok-1", TEXT), join(dir, "missing"), ...Array(8).fill(join(dir, "text"))];
    await expect(pool.hashFiles(paths)).rejects.toMatchObject({ code: "ENOENT" });
  });

  test("a few small files are hashed on the calling thread, with the same results", async () => {
    const fresh = new HashPool();
    const path = await fileWith("few", HELLO);
    expect(await fresh.hashFiles([path], "SHA256")).toEqual([await hashFileSized(path, "SHA256")]);
    await fresh.close();
  });

  test("a closed pool starts again when used", async () => {
    const path = await fileWith("reuse", TEXT);
    const paths = Array<string>(10).fill(path);
    const before = await pool.hashFiles(paths);
    await pool.close();
    expect(await pool.hashFiles(paths)).toEqual(before);
  });
});
