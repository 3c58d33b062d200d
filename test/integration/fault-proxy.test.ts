// The fault proxy's faults, checked against moto with the real AWS SDK, so integrity tests
// built on them test the code and not the proxy: a corrupted byte lands at its object offset
// in full and ranged GETs, truncated bodies stop where asked and close the connection,
// beforeGet hooks run in order and can change the object between two reads, and
// GetObjectAttributes answers parse in the SDK with the parts and composite checksum;
// stalls, resets, 503 storms and reset uploads happen as asked, and the S3 store's retries
// get the right bytes through each of them.
import { createHash } from "node:crypto";
import {
  DeleteObjectCommand,
  GetObjectAttributesCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createS3Store } from "../../src/storage/s3-store.js";
import { startFaultProxy, type FaultProxy, type SeenRequest } from "../helpers/daemon-proxy.js";
import { partsOf } from "../helpers/fault-proxy-s3.js";
import { pseudoRandomBytes } from "../helpers/package-fixtures.js";
import { motoClient } from "../helpers/moto-server.js";
import { s3TestEnv, uniquePrefix } from "../helpers/s3.js";

const s3 = s3TestEnv();
const prefix = uniquePrefix("fproxy");
const MIB = 1024 * 1024;
/** Several socket chunks long, so a late offset is in a later chunk than the first. */
const DATA = pseudoRandomBytes(3 * MIB + 11, prefix);

const client = (endpoint: string): S3Client =>
  motoClient(
    { endpoint },
    {
      maxAttempts: 1,
      // As the project's client (s3-client.ts): no CRC32 on puts, and bodies not checked
      // against S3's checksum headers, which the proxy leaves as they were (a default
      // client notices a corrupted full GET by its x-amz-checksum-crc32 header).
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    },
  );

let proxy: FaultProxy;
let viaProxy: S3Client;
let direct: S3Client;

async function put(key: string, body: Buffer): Promise<void> {
  await direct.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: body }));
}

/** The body of a GET through the proxy, as far as it came, and how it ended. */
async function get(
  key: string,
  range?: string,
): Promise<{ bytes: Buffer; length: number | undefined; error?: unknown }> {
  const res = await viaProxy.send(
    new GetObjectCommand({ Bucket: s3.bucket, Key: key, ...(range !== undefined && { Range: range }) }),
  );
  const chunks: Buffer[] = [];
  try {
    for await (const c of res.Body as AsyncIterable<Uint8Array>) chunks.push(Buffer.from(c));
    return { bytes: Buffer.concat(chunks), length: res.ContentLength };
  } catch (error) {
    return { bytes: Buffer.concat(chunks), length: res.ContentLength, error };
  }
}

function flipped(bytes: Buffer, at: number, xor = 0xff): Buffer {
  const out = Buffer.from(bytes);
  out[at] = (out[at] as number) ^ xor;
  return out;
}

beforeAll(async () => {
  proxy = await startFaultProxy(s3.endpoint);
  viaProxy = client(proxy.endpoint);
  direct = client(s3.endpoint);
});
afterEach(() => proxy.clearFaults());
afterAll(async () => {
  viaProxy.destroy();
  direct.destroy();
  await proxy.close();
});

describe("corrupt", () => {
  it("flips the byte at its object offset in a full GET and in ranged GETs that hold it, and only there", async () => {
    const key = `${prefix}/corrupt.bin`;
    await put(key, DATA);
    const at = 3 * MIB + 3;
    proxy.corrupt("corrupt.bin", { offset: at });
    const full = await get(key);
    expect(full.error).toBeUndefined();
    expect(full.length).toBe(DATA.length);
    expect(full.bytes.equals(flipped(DATA, at))).toBe(true);
    const ranged = await get(key, `bytes=${at - 10}-${at + 5}`);
    expect(ranged.bytes.equals(flipped(DATA.subarray(at - 10, at + 6), 10))).toBe(true);
    const first = await get(key, `bytes=${at}-${at}`);
    expect(first.bytes).toEqual(Buffer.from([(DATA[at] as number) ^ 0xff]));
    const elsewhere = await get(key, "bytes=0-999");
    expect(elsewhere.bytes.equals(DATA.subarray(0, 1000))).toBe(true);
    expect(proxy.gets("corrupt.bin").map((r) => r.faults ?? [])).toEqual([
      ["corrupt"],
      ["corrupt"],
      ["corrupt"],
      ["corrupt"],
    ]);
    proxy.clearFaults();
    expect((await get(key)).bytes.equals(DATA)).toBe(true);
  });

  it("takes a mask, and `times` limits how many responses are corrupted", async () => {
    const key = `${prefix}/mask.bin`;
    await put(key, DATA.subarray(0, 5000));
    proxy.corrupt("mask.bin", { offset: 4999, xor: 0x01, times: 1 });
    expect(
      (await get(key, "bytes=4000-4999")).bytes.equals(flipped(DATA.subarray(4000, 5000), 999, 0x01)),
    ).toBe(true);
    expect((await get(key, "bytes=4000-4999")).bytes.equals(DATA.subarray(4000, 5000))).toBe(true);
  });
});

describe("truncate", () => {
  it("ends the body after N bytes and closes the connection; Content-Length is unchanged", async () => {
    const key = `${prefix}/cut.bin`;
    await put(key, DATA);
    proxy.truncate("cut.bin", { afterBytes: 100_000 });
    for (const range of [undefined, "bytes=1000-400999"]) {
      const r = await get(key, range);
      expect(r.length).toBe(range === undefined ? DATA.length : 400_000);
      expect(r.bytes.length).toBe(100_000);
      expect(r.error).toBeDefined();
      const start = range === undefined ? 0 : 1000;
      expect(r.bytes.equals(DATA.subarray(start, start + 100_000))).toBe(true);
    }
    expect(proxy.gets("cut.bin").map((g) => g.bodyBytes)).toEqual([100_000, 100_000]);
  });

  it("can cut before the first byte, once; the store's retry then reads the whole object", async () => {
    const key = `${prefix}/cut0.bin`;
    await put(key, DATA.subarray(0, 300_000));
    proxy.truncate("cut0.bin", { afterBytes: 0, times: 1 });
    const r = await get(key);
    expect(r.bytes.length).toBe(0);
    expect(r.error).toBeDefined();
    proxy.truncate("cut0.bin", { afterBytes: 1234, times: 1 });
    const store = createS3Store({ endpoint: proxy.endpoint, retry: { baseDelayMs: 5, maxDelayMs: 20 } });
    const got = await store.get({ bucket: s3.bucket, key });
    await store.close();
    expect(got.equals(DATA.subarray(0, 300_000))).toBe(true);
    expect(proxy.gets("cut0.bin").map((g) => g.faults ?? [])).toEqual([["truncate"], ["truncate"], []]);
  });
});

describe("stall, reset, failWith, resetUploads: the store retries through each", () => {
  /** A store with a 500 ms idle timeout and tiny backoffs, through the proxy. */
  const quickStore = () =>
    createS3Store({
      endpoint: proxy.endpoint,
      idleTimeoutMs: 500,
      retry: { baseDelayMs: 5, maxDelayMs: 20 },
    });

  it("a stalled body (connection open, silent) times out and is fetched again on a fresh connection", async () => {
    const key = `${prefix}/stall.bin`;
    await put(key, DATA.subarray(0, 400_000));
    proxy.stall("stall.bin", { afterBytes: 100_000, times: 1 });
    const store = quickStore();
    const got = await store.get({ bucket: s3.bucket, key }, { range: { start: 1000, end: 300_000 } });
    await store.close();
    expect(got.equals(DATA.subarray(1000, 300_000))).toBe(true);
    expect(proxy.gets("stall.bin").map((g) => [g.faults ?? [], g.bodyBytes])).toEqual([
      [["stall"], 100_000],
      [[], 299_000],
    ]);
  });

  it("a reset mid-body is retried; truncation with correct headers too", async () => {
    const key = `${prefix}/reset.bin`;
    await put(key, DATA.subarray(0, 400_000));
    proxy.reset("reset.bin", { afterBytes: 50_000, times: 1 });
    proxy.truncate("reset.bin", { afterBytes: 70_000, times: 1 });
    const store = quickStore();
    const got = await store.get({ bucket: s3.bucket, key });
    await store.close();
    expect(got.equals(DATA.subarray(0, 400_000))).toBe(true);
    expect(proxy.gets("reset.bin").map((g) => g.faults ?? [])).toEqual([["reset"], ["truncate"], []]);
  });

  it("a 503 SlowDown storm on GETs and PUTs is ridden out within the attempts; a longer one is a clear error", async () => {
    const key = `${prefix}/storm.bin`;
    proxy.failWith("storm.bin", { status: 503, code: "SlowDown", methods: ["PUT"], times: 4 });
    proxy.failWith("storm.bin", { status: 503, code: "SlowDown", methods: ["GET"], times: 2 });
    const store = quickStore();
    await store.put({ bucket: s3.bucket, key }, Buffer.from("after the storm"));
    expect((await store.get({ bucket: s3.bucket, key })).toString()).toBe("after the storm");
    expect(proxy.requests.filter((r) => r.key === key).map((r) => `${r.method} ${r.status}`)).toEqual([
      ...Array(4).fill("PUT 503"),
      "PUT 200",
      ...Array(2).fill("GET 503"),
      "GET 200",
    ]);
    proxy.failWith("storm.bin", { status: 503, code: "SlowDown" });
    await expect(store.get({ bucket: s3.bucket, key })).rejects.toMatchObject({
      code: "ESTORAGE",
      message: expect.stringMatching(/SlowDown/),
      hint: expect.stringMatching(/try again later/),
    });
    await store.close();
  });

  it("an upload reset mid-body is sent again whole", async () => {
    const key = `${prefix}/upload.bin`;
    const body = DATA.subarray(0, 200_000);
    proxy.resetUploads("upload.bin", { afterBytes: 1000, times: 1 });
    const store = quickStore();
    await store.put({ bucket: s3.bucket, key }, body);
    await store.close();
    const puts = proxy.requests.filter((r) => r.key === key && r.method === "PUT");
    expect(puts.map((r) => r.faults ?? [])).toEqual([["reset-upload"], []]);
    expect((puts[0]?.bodyBytes ?? 0) >= 1000 && (puts[0]?.bodyBytes ?? 0) < body.length).toBe(true);
    expect((await get(key)).bytes.equals(body)).toBe(true);
  });
});

describe("beforeGet", () => {
  it("runs before each GET in order, and can overwrite or delete the object between two ranged reads", async () => {
    const key = `${prefix}/hooked.bin`;
    const before = DATA.subarray(0, 10_000);
    const after = pseudoRandomBytes(10_000, `${prefix}-after`);
    await put(key, before);
    const calls: [number, string | undefined][] = [];
    proxy.beforeGet("hooked.bin", async (req: SeenRequest, n: number) => {
      calls.push([n, req.range]);
      if (n === 1) await put(key, after);
      if (n === 2) await direct.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: key }));
    });
    expect((await get(key, "bytes=0-4999")).bytes.equals(before.subarray(0, 5000))).toBe(true);
    expect((await get(key, "bytes=5000-9999")).bytes.equals(after.subarray(5000))).toBe(true);
    await expect(get(key, "bytes=0-99")).rejects.toMatchObject({ name: "NoSuchKey" });
    expect(calls).toEqual([
      [0, "bytes=0-4999"],
      [1, "bytes=5000-9999"],
      [2, "bytes=0-99"],
    ]);
  });

  it("a hook that throws makes that GET answer 500 and is recorded", async () => {
    const key = `${prefix}/hook-error.bin`;
    await put(key, Buffer.from("x"));
    proxy.beforeGet("hook-error.bin", () => {
      throw new Error("hook failed");
    });
    await expect(get(key)).rejects.toMatchObject({ $metadata: { httpStatusCode: 500 } });
    expect(proxy.hookErrors).toHaveLength(1);
  });
});

describe("fakeObjectParts", () => {
  it("answers GetObjectAttributes with the parts, ObjectSize, an ETag and the composite SHA-256, parsed by the SDK", async () => {
    const key = `${prefix}/parts.bin`;
    await put(key, DATA);
    const parts = partsOf(DATA, MIB);
    proxy.fakeObjectParts("parts.bin", parts);
    const res = await viaProxy.send(
      new GetObjectAttributesCommand({
        Bucket: s3.bucket,
        Key: key,
        ObjectAttributes: ["ETag", "Checksum", "ObjectParts", "ObjectSize", "StorageClass"],
      }),
    );
    expect(res.ObjectParts?.TotalPartsCount).toBe(4);
    expect(res.ObjectParts?.IsTruncated).toBe(false);
    expect(
      res.ObjectParts?.Parts?.map((p) => ({
        partNumber: p.PartNumber,
        size: p.Size,
        checksumSHA256: p.ChecksumSHA256,
      })),
    ).toEqual(parts);
    expect(res.ObjectSize).toBe(DATA.length);
    expect(res.ETag).toMatch(/^"[0-9a-f]{32}-4"$/);
    expect(res.StorageClass).toBe("STANDARD");
    // Composite: sha256 over the parts' raw digests, which is quilt's sha2-256-chunked for 8 MiB parts.
    const composite = createHash("sha256")
      .update(Buffer.concat(parts.map((p) => Buffer.from(p.checksumSHA256, "base64"))))
      .digest("base64");
    expect(res.Checksum).toEqual({ ChecksumSHA256: composite, ChecksumType: "COMPOSITE" });
    expect(res.LastModified).toBeInstanceOf(Date);
  });

  it("sends only the attributes asked for, pages parts, reports a given ETag, or fails on request", async () => {
    const key = `${prefix}/paged.bin`;
    const parts = partsOf(DATA, MIB);
    proxy.fakeObjectParts("paged.bin", parts, { etag: '"abc"' });
    const page = await viaProxy.send(
      new GetObjectAttributesCommand({
        Bucket: s3.bucket,
        Key: key,
        ObjectAttributes: ["ObjectParts", "ETag"],
        MaxParts: 3,
        PartNumberMarker: "1",
      }),
    );
    expect(page.ObjectParts?.Parts?.map((p) => p.PartNumber)).toEqual([2, 3, 4]);
    expect(page.ObjectParts).toMatchObject({
      TotalPartsCount: 4,
      IsTruncated: false,
      NextPartNumberMarker: "4",
      MaxParts: 3,
    });
    expect(page.ETag).toBe('"abc"');
    expect(page.Checksum).toBeUndefined();
    expect(page.ObjectSize).toBeUndefined();
    const first = await viaProxy.send(
      new GetObjectAttributesCommand({
        Bucket: s3.bucket,
        Key: key,
        ObjectAttributes: ["ObjectParts"],
        MaxParts: 2,
      }),
    );
    expect(first.ObjectParts).toMatchObject({ IsTruncated: true, NextPartNumberMarker: "2" });
    proxy.fakeObjectParts("paged.bin", "error");
    await expect(
      viaProxy.send(
        new GetObjectAttributesCommand({ Bucket: s3.bucket, Key: key, ObjectAttributes: ["ObjectParts"] }),
      ),
    ).rejects.toMatchObject({
      name: "NotImplemented",
      $metadata: { httpStatusCode: 501 },
    });
    expect(
      proxy.requests.filter((r) => r.key === key).every((r) => r.faults?.includes("fake-attributes")),
    ).toBe(true);
  });
});
