// The on-disk and naming contracts of the block cache: content keys, the block file header
// and its checks, and block arithmetic. Other daemons (and future versions) read these bytes.
import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  decodeHeader,
  encodeHeader,
  HEADER_BYTES,
  layoutDir,
  readBlockFile,
  writeBlockFile,
  blockPath,
  type BlockHeader,
} from "../../src/cache/block-file.js";
import { blockCount, blockLength, toRuns } from "../../src/cache/block-layout.js";
import { cacheObject, cacheObjectForEntry, contentKey } from "../../src/cache/content-key.js";
import { flipByte, KiB, tempDir } from "./cache-fixtures.js";

describe("content keys", () => {
  it("is the hex sha256 of type:value:size", () => {
    const hash = { type: "sha2-256-chunked", value: "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=" };
    const expected = createHash("sha256").update(`sha2-256-chunked:${hash.value}:0`).digest("hex");
    expect(contentKey(hash, 0)).toBe(expected);
    expect(contentKey(hash, 1)).not.toBe(expected);
    expect(contentKey({ type: "SHA256", value: "AB".repeat(32) }, 5)).toBe(
      contentKey({ type: "SHA256", value: "ab".repeat(32) }, 5),
    );
    expect(cacheObject(hash, 0)).toEqual({ key: expected, size: 0, hash });
  });

  it("comes from a manifest entry's hash and size", () => {
    const entry = {
      size: 3,
      hash: new Map<string, string>([
        ["type", "SHA256"],
        ["value", "ab".repeat(32)],
      ]),
    };
    expect(cacheObjectForEntry(entry).key).toBe(contentKey({ type: "SHA256", value: "ab".repeat(32) }, 3));
    expect(() => cacheObjectForEntry({ size: 3, hash: new Map() })).toThrow(/no hash/);
    expect(() => contentKey({ type: "SHA256", value: "x" }, -1)).toThrow(/invalid object size/);
  });
});

describe("block arithmetic", () => {
  it("cuts objects into blocks with a short last one", () => {
    expect(blockCount(0, 4096)).toBe(0);
    expect(blockCount(4096, 4096)).toBe(1);
    expect(blockCount(4097, 4096)).toBe(2);
    expect(blockLength(1, 4097, 4096)).toBe(1);
    expect(blockLength(2, 4097, 4096)).toBe(0);
  });

  it("groups consecutive indexes into bounded runs", () => {
    expect(toRuns([1, 2, 3, 5, 6, 9], 10)).toEqual([
      [1, 3],
      [5, 6],
      [9, 9],
    ]);
    expect(toRuns([0, 1, 2, 3, 4], 2)).toEqual([
      [0, 1],
      [2, 3],
      [4, 4],
    ]);
    expect(toRuns([], 4)).toEqual([]);
  });
});

describe("block files", () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  beforeEach(async () => {
    dir = await tempDir("blockfile");
  });
  afterEach(async () => dir.cleanup());

  const key = "ab".repeat(32);
  const header: BlockHeader = {
    blockSize: 4 * KiB,
    index: 2,
    objectSize: 10 * KiB,
    dataLength: 2 * KiB,
    key,
  };

  it("round-trips a header and rejects inconsistent ones", () => {
    const data = Buffer.alloc(2 * KiB, 7);
    const encoded = encodeHeader(header, data);
    expect(encoded.length).toBe(HEADER_BYTES);
    expect(encoded.subarray(0, 4).toString("latin1")).toBe("QBLK");
    expect(decodeHeader(encoded)).toEqual(header);
    // A data length that does not fit the block's place in the object is not a header.
    expect(decodeHeader(encodeHeader({ ...header, dataLength: 4 * KiB }, data))).toBeUndefined();
    const badMagic = Buffer.from(encoded);
    badMagic[0] = 0;
    expect(decodeHeader(badMagic)).toBeUndefined();
  });

  it("writes atomically and checks every field on read", async () => {
    const layout = layoutDir(dir.path, 4 * KiB);
    const data = Buffer.alloc(2 * KiB, 9);
    expect(await writeBlockFile(layout, header, data)).toBe(HEADER_BYTES + data.length);
    const path = blockPath(layout, key, 2);
    const ok = await readBlockFile(path, header);
    expect(ok.status === "ok" && ok.data.equals(data)).toBe(true);
    expect(await readBlockFile(path, { ...header, key: "cd".repeat(32) })).toMatchObject({
      status: "corrupt",
    });
    expect(await readBlockFile(path, { ...header, objectSize: 10 * KiB + 1 })).toMatchObject({
      status: "corrupt",
    });
    expect(await readBlockFile(blockPath(layout, key, 1), header)).toEqual({ status: "missing" });
    const bytes = await readFile(path);
    for (const at of [12, 40, HEADER_BYTES, bytes.length - 1]) {
      const flipped = Buffer.from(bytes);
      flipByte(flipped, at, 0x10);
      await writeFile(path, flipped);
      expect((await readBlockFile(path, header)).status, `flip at ${at}`).toBe("corrupt");
    }
    await writeFile(path, bytes.subarray(0, bytes.length - 1));
    expect((await readBlockFile(path, header)).status).toBe("corrupt");
  });
});
