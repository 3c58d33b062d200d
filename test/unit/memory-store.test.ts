import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { MemoryStore, faultError } from "../../src/storage/memory-store.js";
import {
  collect,
  expectCode,
  names,
  memoryContractTarget,
  objectStoreContract,
  patterned,
} from "../helpers/object-store-contract.js";

objectStoreContract(memoryContractTarget("memory"));

describe("MemoryStore", () => {
  const loc = { bucket: "b", key: "k" };

  it("counts requests by type and the bytes fetched", async () => {
    const s = new MemoryStore();
    await s.put(loc, "0123456789");
    await s.get(loc);
    await s.get(loc, { range: { start: 2, end: 5 } });
    await s.getStream(loc, { range: { start: 0, end: 4 } });
    await s.head(loc);
    await s.copy(loc, { bucket: "b", key: "k2" });
    await s.delete({ bucket: "b", key: "k2" });
    await collect(s.list("b", ""));
    expect(s.counts).toEqual({ get: 3, head: 1, put: 1, list: 1, delete: 1, copy: 1 });
    expect(s.bytesFetched).toBe(10 + 3 + 4);
    s.resetCounts();
    expect(s.counts.get + s.bytesFetched).toBe(0);
  });

  it("counts one list request per page", async () => {
    const s = new MemoryStore({ listPageSize: 3 });
    for (let i = 0; i < 10; i++) await s.put({ bucket: "b", key: `k${i}` }, "x");
    expect(await collect(s.list("b", ""))).toHaveLength(10);
    expect(s.counts.list).toBe(4);
    await collect(s.list("b", "nothing"));
    expect(s.counts.list).toBe(5); // an empty listing is still one request
  });

  it("retries an injected 503 and succeeds, counting both attempts", async () => {
    const s = new MemoryStore();
    await s.put(loc, "data");
    s.failNext("get", 503);
    expect(await s.get(loc)).toEqual(Buffer.from("data"));
    expect(s.counts.get).toBe(2);
    s.failNext("get", "SlowDown", 4); // the fifth and last attempt succeeds
    expect(await s.get(loc)).toEqual(Buffer.from("data"));
    expect(s.counts.get).toBe(7);
  });

  it("retries dropped connections on every operation", async () => {
    const s = new MemoryStore();
    s.failNext("put", "ECONNRESET", 2);
    await s.put(loc, "data");
    s.failNext("head", "EPIPE");
    s.failNext("list", "ETIMEDOUT");
    s.failNext("copy", 500);
    s.failNext("delete", "InternalError");
    expect((await s.head(loc)).size).toBe(4);
    expect(names(await collect(s.list("b", "")))).toEqual(["k"]);
    await s.copy(loc, { bucket: "b", key: "c" });
    await s.delete({ bucket: "b", key: "c" });
    expect(s.counts).toMatchObject({ put: 3, head: 2, list: 2, copy: 2, delete: 2 });
  });

  it("gives ESTORAGE when 503s outlast the retries and EUNREACHABLE for refused connections", async () => {
    const s = new MemoryStore();
    await s.put(loc, "data");
    s.failNext("get", 503, 5);
    await expectCode(s.get(loc), "ESTORAGE");
    expect(s.counts.get).toBe(5);
    s.failNext("head", "ECONNREFUSED", 5);
    await expectCode(s.head(loc), "EUNREACHABLE");
    expect(await s.get(loc)).toEqual(Buffer.from("data")); // the faults are used up
  });

  it("throws injected QuiltError codes and non-transient errors at once, without retrying", async () => {
    const s = new MemoryStore();
    await s.put(loc, "data");
    s.failNext("get", "ESTALE");
    await expectCode(s.get(loc), "ESTALE");
    expect(s.counts.get).toBe(1);
    s.failNext("get", 404);
    await expectCode(s.get(loc), "ENOTFOUND");
    s.failNext("get", 403);
    await expectCode(s.get(loc), "ESTORAGE");
    expect(s.counts.get).toBe(3);
  });

  it("fails only the requests a failWhen predicate picks, until unregistered", async () => {
    const s = new MemoryStore({ retry: { maxAttempts: 2 } });
    await s.put({ bucket: "b", key: "good" }, "g");
    await s.put({ bucket: "b", key: "bad" }, "b");
    const seen: number[] = [];
    const stop = s.failWhen((req) => {
      if (req.key !== "bad") return undefined;
      seen.push(req.attempt);
      return faultError(503);
    });
    expect(await s.get({ bucket: "b", key: "good" })).toEqual(Buffer.from("g"));
    await expectCode(s.get({ bucket: "b", key: "bad" }), "ESTORAGE");
    expect(seen).toEqual([1, 2]);
    stop();
    expect(await s.get({ bucket: "b", key: "bad" })).toEqual(Buffer.from("b"));
  });

  it("gives ESTALE for a pinned version that never existed", async () => {
    const s = new MemoryStore();
    await s.put(loc, "data");
    await expectCode(s.get({ ...loc, versionId: "nope" }), "ESTALE");
  });

  it("without versioning overwrites in place and has no version ids", async () => {
    const s = new MemoryStore({ versioned: false });
    const r1 = await s.put(loc, "one");
    expect(r1.versionId).toBeUndefined();
    await s.put(loc, "two");
    expect(s.versionsOf("b", "k")).toHaveLength(1);
    await s.delete(loc);
    expect(s.versionsOf("b", "k")).toHaveLength(0);
    await expectCode(s.get(loc), "ENOTFOUND");
  });

  it("leaves a delete marker in versioned buckets", async () => {
    const s = new MemoryStore();
    await s.put(loc, "one");
    await s.delete(loc);
    await s.delete(loc); // a second delete of a deleted key adds no second marker
    expect(s.versionsOf("b", "k")).toHaveLength(2);
  });

  it("gives large puts the multipart ETag S3 would", async () => {
    const s = new MemoryStore({ multipartThreshold: 100, partSize: 64 });
    const data = patterned(150);
    const res = await s.put(loc, data);
    const md5 = (b: Buffer): Buffer => createHash("md5").update(b).digest();
    const want = createHash("md5")
      .update(
        Buffer.concat([md5(data.subarray(0, 64)), md5(data.subarray(64, 128)), md5(data.subarray(128))]),
      )
      .digest("hex");
    expect(res.etag).toBe(`"${want}-3"`);
    expect((await s.head(loc)).checksumSha256).toBeUndefined(); // composite, not a whole-object checksum
  });

  it("honours an aborted signal", async () => {
    const s = new MemoryStore();
    await s.put(loc, "data");
    const ac = new AbortController();
    ac.abort(new Error("stop"));
    await expect(s.get(loc, { signal: ac.signal })).rejects.toThrow();
    await expect(s.put(loc, "x", { signal: ac.signal })).rejects.toThrow("stop");
  });
});
