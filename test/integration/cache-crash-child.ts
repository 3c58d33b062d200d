// Child process for cache-crash.test.ts: reads random spans of deterministic objects through
// a BlockCache, checking every byte, until it is killed with SIGKILL. Prints "ready" once it
// has done some work, and exits 2 if it ever gets a wrong byte.
import { createHash } from "node:crypto";
import { BlockCache } from "../../src/cache/block-cache.js";
import { cacheObject } from "../../src/cache/content-key.js";
import { hashBytes } from "../../src/manifest/checksums.js";

export const CRASH_BLOCK = 64 * 1024;
export const CRASH_LIMIT = 40 * (CRASH_BLOCK + 64);

export function crashObjectData(i: number): Buffer {
  const size = 200 * 1024 + i * 131_071;
  const out = Buffer.alloc(size);
  for (let offset = 0, n = 0; offset < size; n++, offset += 32)
    createHash("sha256").update(`crash:${i}:${n}`).digest().copy(out, offset);
  return out;
}

async function main(): Promise<void> {
  const [dataDir, indexDir] = process.argv.slice(2) as [string, string];
  const cache = await BlockCache.open({
    dataDir,
    indexDir,
    maxBytes: CRASH_LIMIT,
    blockSize: CRASH_BLOCK,
    wholeObjectBytes: 256 * 1024,
  });
  const objects = await Promise.all(
    Array.from({ length: 8 }, async (_, i) => {
      const data = crashObjectData(i);
      return { data, obj: cacheObject(await hashBytes(data), data.length) };
    }),
  );
  let reads = 0;
  for (;;) {
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        const { data, obj } = objects[Math.floor(Math.random() * objects.length)] as (typeof objects)[number];
        const offset = Math.floor(Math.random() * data.length);
        const length = Math.floor(Math.random() * 3 * CRASH_BLOCK);
        const fetch = async (r: { start: number; end: number }) => Buffer.from(data.subarray(r.start, r.end));
        const got = await cache.read(obj, offset, length, fetch);
        if (!got.equals(data.subarray(offset, offset + length))) process.exit(2);
      }),
    );
    if (++reads === 20) process.stdout.write("ready\n");
  }
}

if (process.argv[1]?.endsWith("cache-crash-child.ts")) void main();
