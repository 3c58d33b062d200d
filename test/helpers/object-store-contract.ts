// The behaviour every ObjectStore must share, written once and run against the memory,
// local-directory and S3 (moto) stores, so that a scenario tested on the fast in-memory
// store holds on the real ones. Store-specific behaviour is tested next to each store.
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { isQuiltError, type ErrorCode } from "../../src/errors.js";
import { MemoryStore } from "../../src/storage/memory-store.js";
import type { ListEntry, ObjectStore } from "../../src/storage/object-store.js";

/** Knobs a contract test may turn when it asks for a store. */
export interface StoreKnobs {
  multipartThreshold?: number;
  partSize?: number;
  listPageSize?: number;
  copyMultipartThreshold?: number;
}

export interface StoreUnderTest {
  store: ObjectStore;
  bucket: string;
  /** A key prefix no other test uses, ending with "/". */
  prefix: string;
  cleanup?: () => Promise<void>;
}

/**
 * The memory store as the contract drives it (its knobs as constructor options), for the
 * memory store's own run and for wrappers run over it.
 */
export function memoryContractTarget(
  name: string,
  wrap: (store: MemoryStore) => ObjectStore = (store) => store,
): ContractTarget {
  return {
    name,
    make: async (knobs = {}) => ({
      store: wrap(
        new MemoryStore({
          multipartThreshold: knobs.multipartThreshold,
          partSize: knobs.partSize,
          listPageSize: knobs.listPageSize,
        }),
      ),
      bucket: "bkt",
      prefix: "t/",
    }),
    versioned: true,
    multipart: { threshold: 1024, partSize: 1024, etagHasPartCount: true },
    reportsSha256: true,
  };
}

export interface ContractTarget {
  name: string;
  make(knobs?: StoreKnobs): Promise<StoreUnderTest>;
  /** Overwrites keep old versions readable by versionId. */
  versioned: boolean;
  /** Multipart behaviour; the sizes are what the test passes as knobs. */
  multipart?: { threshold: number; partSize: number; etagHasPartCount: boolean };
  /** Server-side copies in parts (the store honours copyMultipartThreshold). */
  multipartCopy?: boolean;
  /** head() reports a SHA-256 of small objects. */
  reportsSha256: boolean;
}

export async function expectCode(p: Promise<unknown>, code: ErrorCode): Promise<void> {
  const err: unknown = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isQuiltError(err, code))
    throw new Error(`expected QuiltError ${code}, got ${err === undefined ? "success" : String(err)}`);
}

export async function collect(it: AsyncIterable<ListEntry>): Promise<ListEntry[]> {
  const out: ListEntry[] = [];
  for await (const e of it) out.push(e);
  return out;
}

/** Compact form of a listing for assertions: keys as is, common prefixes with a leading "P:". */
export function names(entries: ListEntry[], strip = ""): string[] {
  return entries.map((e) =>
    e.kind === "object" ? e.key.slice(strip.length) : `P:${e.prefix.slice(strip.length)}`,
  );
}

export async function streamBytes(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks);
}

/** Deterministic bytes that differ at every offset's position mod 251 (a prime: no period of 2^k). */
export function patterned(size: number, seed = 0): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) b[i] = (i + seed) % 251;
  return b;
}

/** Keys whose UTF-8 byte order differs from JavaScript's UTF-16 order and from per-directory order. */
export const ORDER_KEYS = ["a-b", "a.txt", "a/b", "a/c/d", "a0", "b", "\u00e9", "\uFFFD", "\u{1F600}"];

export function objectStoreContract(target: ContractTarget): void {
  describe(`ObjectStore contract: ${target.name}`, () => {
    const open: StoreUnderTest[] = [];
    const make = async (knobs?: StoreKnobs): Promise<StoreUnderTest> => {
      const s = await target.make(knobs);
      open.push(s);
      return s;
    };
    afterEach(async () => {
      for (const s of open.splice(0)) {
        await s.store.close();
        await s.cleanup?.();
      }
    });

    it("round-trips Buffer, string, Uint8Array and file bodies", async () => {
      const { store, bucket, prefix } = await make();
      const dir = mkdtempSync(join(tmpdir(), "contract-"));
      try {
        const file = join(dir, "body.bin");
        writeFileSync(file, patterned(3000));
        const bodies: [string, Parameters<ObjectStore["put"]>[1], Buffer][] = [
          ["buf", Buffer.from("hello"), Buffer.from("hello")],
          ["str", "h\u00e9llo \u{1F600}", Buffer.from("h\u00e9llo \u{1F600}", "utf8")],
          ["u8", new Uint8Array([1, 2, 3]), Buffer.from([1, 2, 3])],
          ["file", { path: file }, patterned(3000)],
          ["empty", Buffer.alloc(0), Buffer.alloc(0)],
        ];
        for (const [name, body, bytes] of bodies) {
          const key = `${prefix}${name}`;
          let progress = -1;
          const res = await store.put({ bucket, key }, body, { onProgress: (n) => (progress = n) });
          expect(res.etag).toBeTruthy();
          expect(progress).toBe(bytes.length);
          if (target.versioned) expect(res.versionId).toBeTruthy();
          expect(await store.get({ bucket, key })).toEqual(bytes);
          expect(await streamBytes(await store.getStream({ bucket, key }))).toEqual(bytes);
          const head = await store.head({ bucket, key });
          expect(head.size).toBe(bytes.length);
          expect(head.etag).toBe(res.etag);
          expect(head.lastModified).toBeInstanceOf(Date);
          if (target.versioned) expect(head.versionId).toBe(res.versionId);
          if (target.reportsSha256)
            expect(head.checksumSha256).toBe(createHash("sha256").update(bytes).digest("base64"));
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it("hands a stream over paused: a reader that starts several awaits later gets every byte", async () => {
      const { store, bucket, prefix } = await make();
      const key = `${prefix}late-reader`;
      const bytes = patterned(256 * 1024);
      await store.put({ bucket, key }, bytes);
      const stream = await store.getStream({ bucket, key });
      // Long enough for the whole body to arrive: a flowing stream would have emitted it to no one.
      await new Promise((r) => setTimeout(r, 300));
      expect(await streamBytes(stream)).toEqual(bytes);
    });

    it("reads byte ranges [start, end), clamped to the object like pread", async () => {
      const { store, bucket, prefix } = await make();
      const key = `${prefix}ranged`;
      const data = patterned(1000);
      await store.put({ bucket, key }, data);
      const cases: [number, number, Buffer][] = [
        [0, 1, data.subarray(0, 1)],
        [10, 20, data.subarray(10, 20)],
        [990, 1000, data.subarray(990)],
        [500, 5000, data.subarray(500)], // past the end: to the end of the object
        [7, 7, Buffer.alloc(0)],
        [1000, 1010, Buffer.alloc(0)], // starting at the end: nothing
      ];
      for (const [start, end, want] of cases) {
        expect(await store.get({ bucket, key }, { range: { start, end } })).toEqual(want);
        expect(await streamBytes(await store.getStream({ bucket, key }, { range: { start, end } }))).toEqual(
          want,
        );
      }
      await expectCode(store.get({ bucket, key }, { range: { start: 5, end: 4 } }), "EUSAGE");
    });

    it("gives ENOTFOUND for a missing key, before and after delete", async () => {
      const { store, bucket, prefix } = await make();
      const key = `${prefix}gone`;
      await expectCode(store.get({ bucket, key }), "ENOTFOUND");
      await expectCode(store.head({ bucket, key }), "ENOTFOUND");
      await expectCode(store.getStream({ bucket, key }), "ENOTFOUND");
      await store.put({ bucket, key }, "x");
      await store.delete({ bucket, key });
      await expectCode(store.get({ bucket, key }), "ENOTFOUND");
      expect(names(await collect(store.list(bucket, prefix)))).toEqual([]);
      await store.delete({ bucket, key: `${prefix}never-existed` }); // succeeds, as on S3
    });

    it("gives ESTALE for an etag pin that no longer matches", async () => {
      const { store, bucket, prefix } = await make();
      const key = `${prefix}pinned`;
      const first = await store.put({ bucket, key }, "version one");
      expect(await store.get({ bucket, key, etag: first.etag })).toEqual(Buffer.from("version one"));
      // Different size too, so stores whose etag is derived from size+mtime change for sure.
      await store.put({ bucket, key }, "version two, longer");
      await expectCode(store.get({ bucket, key, etag: first.etag }), "ESTALE");
      await expectCode(
        store.get({ bucket, key, etag: first.etag }, { range: { start: 0, end: 3 } }),
        "ESTALE",
      );
      await expectCode(store.getStream({ bucket, key, etag: first.etag }), "ESTALE");
      await expectCode(store.head({ bucket, key, etag: first.etag }), "ESTALE");
      await expectCode(
        store.copy({ bucket, key, etag: first.etag }, { bucket, key: `${prefix}copy` }),
        "ESTALE",
      );
    });

    it.runIf(target.versioned)(
      "keeps old versions readable by versionId after overwrite and delete",
      async () => {
        const { store, bucket, prefix } = await make();
        const key = `${prefix}versioned`;
        const v1 = await store.put({ bucket, key }, "one");
        const v2 = await store.put({ bucket, key }, "two");
        expect(v1.versionId).toBeTruthy();
        expect(v2.versionId).not.toBe(v1.versionId);
        expect(await store.get({ bucket, key })).toEqual(Buffer.from("two"));
        expect(await store.get({ bucket, key, versionId: v1.versionId })).toEqual(Buffer.from("one"));
        expect((await store.head({ bucket, key, versionId: v1.versionId })).size).toBe(3);
        await store.delete({ bucket, key });
        await expectCode(store.get({ bucket, key }), "ENOTFOUND");
        expect(
          await store.get({ bucket, key, versionId: v2.versionId }, { range: { start: 1, end: 3 } }),
        ).toEqual(Buffer.from("wo"));
        // Deleting a version for good makes a read pinned to it stale.
        await store.delete({ bucket, key, versionId: v1.versionId });
        await expectCode(store.get({ bucket, key, versionId: v1.versionId }), "ESTALE");
        await expectCode(store.head({ bucket, key, versionId: v1.versionId }), "ESTALE");
      },
    );

    it("lists in UTF-8 byte order, with prefixes and a delimiter", async () => {
      const { store, bucket, prefix } = await make();
      for (const k of ORDER_KEYS) await store.put({ bucket, key: prefix + k }, k);
      const all = await collect(store.list(bucket, prefix));
      expect(names(all, prefix)).toEqual(ORDER_KEYS);
      const first = all[0];
      expect(first?.kind === "object" && first.size).toBe(Buffer.byteLength("a-b"));
      expect(first?.kind === "object" && first.etag).toBeTruthy();
      expect(names(await collect(store.list(bucket, prefix, { delimiter: "/" })), prefix)).toEqual([
        "a-b",
        "a.txt",
        "P:a/",
        "a0",
        "b",
        "\u00e9",
        "\uFFFD",
        "\u{1F600}",
      ]);
      expect(names(await collect(store.list(bucket, `${prefix}a/`, { delimiter: "/" })), prefix)).toEqual([
        "a/b",
        "P:a/c/",
      ]);
      // A prefix may end in the middle of a name.
      expect(names(await collect(store.list(bucket, `${prefix}a`)), prefix)).toEqual([
        "a-b",
        "a.txt",
        "a/b",
        "a/c/d",
        "a0",
      ]);
      expect(names(await collect(store.list(bucket, `${prefix}a`, { delimiter: "/" })), prefix)).toEqual([
        "a-b",
        "a.txt",
        "P:a/",
        "a0",
      ]);
      expect(names(await collect(store.list(bucket, `${prefix}a/c/d`)), prefix)).toEqual(["a/c/d"]);
      expect(await collect(store.list(bucket, `${prefix}nothing-here/`))).toEqual([]);
    });

    it("pages through listings longer than one page", async () => {
      const { store, bucket, prefix } = await make({ listPageSize: 3 });
      const keys = Array.from({ length: 11 }, (_, i) => `k${String(i).padStart(2, "0")}`);
      await Promise.all(keys.map((k) => store.put({ bucket, key: prefix + k }, k)));
      await store.put({ bucket, key: `${prefix}sub/x` }, "x");
      expect(names(await collect(store.list(bucket, prefix)), prefix)).toEqual([...keys, "sub/x"]);
      expect(names(await collect(store.list(bucket, prefix, { delimiter: "/" })), prefix)).toEqual([
        ...keys,
        "P:sub/",
      ]);
    });

    it("copies objects, including a pinned old version", async () => {
      const { store, bucket, prefix } = await make();
      const src = `${prefix}src/na\u00efve name+%?.txt`;
      const v1 = await store.put({ bucket, key: src }, "first bytes");
      await store.put({ bucket, key: src }, "second bytes");
      let progress = 0;
      const res = await store.copy(
        { bucket, key: src },
        { bucket, key: `${prefix}dst/latest` },
        { onProgress: (n) => (progress = n) },
      );
      expect(res.etag).toBeTruthy();
      expect(progress).toBe("second bytes".length);
      expect(await store.get({ bucket, key: `${prefix}dst/latest` })).toEqual(Buffer.from("second bytes"));
      if (target.versioned) {
        await store.copy({ bucket, key: src, versionId: v1.versionId }, { bucket, key: `${prefix}dst/old` });
        expect(await store.get({ bucket, key: `${prefix}dst/old` })).toEqual(Buffer.from("first bytes"));
      }
      await expectCode(
        store.copy({ bucket, key: `${prefix}missing` }, { bucket, key: `${prefix}dst/x` }),
        "ENOTFOUND",
      );
    });

    const mp = target.multipart;
    it.runIf(mp !== undefined)("uploads large objects in parts, from memory and from a file", async () => {
      if (!mp) return;
      const { store, bucket, prefix } = await make({
        multipartThreshold: mp.threshold,
        partSize: mp.partSize,
      });
      const size = 2 * mp.partSize + Math.floor(mp.partSize / 3); // three parts, the last one short
      const data = patterned(size, 7);
      const dir = mkdtempSync(join(tmpdir(), "contract-mp-"));
      try {
        const file = join(dir, "big.bin");
        writeFileSync(file, data);
        for (const [name, body] of [
          ["from-buffer", data],
          ["from-file", { path: file }],
        ] as const) {
          const key = `${prefix}${name}`;
          const seen: number[] = [];
          const res = await store.put({ bucket, key }, body, { onProgress: (n) => seen.push(n) });
          expect(seen.at(-1)).toBe(size);
          if (mp.etagHasPartCount) expect(res.etag).toMatch(/-3"?$/);
          expect((await store.head({ bucket, key })).size).toBe(size);
          expect((await store.get({ bucket, key })).equals(data)).toBe(true);
          const mid = mp.partSize - 10;
          expect(await store.get({ bucket, key }, { range: { start: mid, end: mid + 20 } })).toEqual(
            data.subarray(mid, mid + 20),
          );
        }
        // Just below the threshold: a single put.
        const small = await store.put({ bucket, key: `${prefix}small` }, data.subarray(0, mp.threshold - 1));
        if (mp.etagHasPartCount) expect(small.etag).not.toMatch(/-\d+"?$/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it.runIf(target.multipartCopy === true && mp !== undefined)("copies large objects in parts", async () => {
      if (!mp) return;
      const { store, bucket, prefix } = await make({
        copyMultipartThreshold: mp.partSize,
        partSize: mp.partSize,
        multipartThreshold: mp.threshold,
      });
      const data = patterned(mp.partSize + 1000, 3);
      const v = await store.put({ bucket, key: `${prefix}big` }, data);
      await store.put({ bucket, key: `${prefix}big` }, "overwritten");
      const res = await store.copy(
        { bucket, key: `${prefix}big`, versionId: v.versionId },
        { bucket, key: `${prefix}big-copy` },
      );
      expect(res.etag).toMatch(/-2"?$/);
      expect((await store.get({ bucket, key: `${prefix}big-copy` })).equals(data)).toBe(true);
    });
  });
}
