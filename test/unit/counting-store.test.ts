// The counting wrapper keeps its store's contract (a stream handed over paused above all:
// counting bytes must not start the body flowing before its reader is there) and counts
// what passes through it.
import { describe, expect, it } from "vitest";
import { CountingStore } from "../../src/storage/counting-store.js";
import { MemoryStore } from "../../src/storage/memory-store.js";
import {
  memoryContractTarget,
  objectStoreContract,
  patterned,
  streamBytes,
} from "../helpers/object-store-contract.js";

objectStoreContract(memoryContractTarget("counting over memory", (store) => new CountingStore(store)));

describe("CountingStore", () => {
  it("counts a stream's bytes as its reader takes them, and a range's GET", async () => {
    const s = new CountingStore(new MemoryStore());
    const loc = { bucket: "b", key: "k" };
    await s.put(loc, patterned(5000));
    const stream = await s.getStream(loc, { range: { start: 1000, end: 4000 } });
    expect(s.counts.bytesFetched).toBe(0);
    expect(await streamBytes(stream)).toEqual(patterned(5000).subarray(1000, 4000));
    expect(s.counts).toMatchObject({ get: 1, put: 1, bytesFetched: 3000 });
  });
});
