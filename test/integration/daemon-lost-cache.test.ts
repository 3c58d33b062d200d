// The cache data directory deleted under a running daemon (`rm -rf ~/.cache/quilt-ts` while
// a mount is in use; issue 12, point 4): the next reads refetch each lost block once, with
// the right bytes, and write it again; the index and the re-made directory recognise each
// other, so the next daemon serves everything from disk without a GET.
import { rm } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DaemonSandbox } from "../helpers/daemon-harness.js";
import { mountDifferences, publishFiles, pseudoRandomBytes } from "../helpers/daemon-fixtures.js";
import { fuseUnavailable } from "../helpers/fuse-harness.js";
import { s3TestEnv, uniquePrefix } from "../helpers/s3.js";

const unavailable = fuseUnavailable();
if (unavailable) console.warn(`Skipping lost-cache daemon tests: ${unavailable}`);

const s3 = s3TestEnv();
const registry = `s3://${s3.bucket}`;
const salt = uniquePrefix("dmlost");
const name = `${salt}/lost`;
const MiB = 1024 * 1024;
const FILES: Record<string, Buffer> = {
  "small/a.bin": pseudoRandomBytes(70_000, `${salt}-a`),
  "small/b.json": Buffer.from(JSON.stringify({ salt })),
  // Three 8 MiB verification chunks, the last one short: read block by block.
  "shards/big.bin": pseudoRandomBytes(20 * MiB + 5, `${salt}-big`),
};
const TOTAL = Object.values(FILES).reduce((n, b) => n + b.length, 0);

describe.skipIf(unavailable !== null)("daemon: cache data directory deleted while in use", () => {
  let box: DaemonSandbox;

  beforeAll(async () => {
    await publishFiles(s3.endpoint, registry, name, FILES, { prefix: `${salt}-data/` });
    box = await DaemonSandbox.create("lost", { endpoint: s3.endpoint });
  });
  afterAll(async () => {
    await box?.cleanup();
  });

  /** A fresh daemon (nothing in its memory) mounting the package; its kernel page cache is new too. */
  async function freshMount(dir: string): Promise<void> {
    await box.ok(["daemon", "stop"]);
    await box.mount(`${name}:v1`, dir, registry);
  }

  it("refetches each lost block once with the right bytes, and the next daemon reads everything from disk", async () => {
    const mnt = await box.mountDir();
    await box.mount(`${name}:v1`, mnt, registry);
    expect(await mountDifferences(mnt, FILES)).toEqual([]);

    await freshMount(mnt);
    const listed = (await box.stats()).cache.blocks;
    expect(listed).toBeGreaterThan(20); // the index of the same data directory is kept
    await rm(box.dataDir, { recursive: true });

    const before = await box.stats();
    expect(await mountDifferences(mnt, FILES)).toEqual([]);
    const after = await box.stats();
    expect(after.requests.s3.bytesFetched - before.requests.s3.bytesFetched).toBe(TOTAL);
    // Each lost block forgotten once, and fetched and written once.
    expect(after.cache).toMatchObject({
      blocks: listed,
      lostBlocks: listed,
      corruptBlocks: 0,
      hashMismatches: 0,
    });
    expect((await box.ok(["mounts"])).stdout).toContain(mnt);

    // Every block was written again and is listed under the directory's new identity.
    await freshMount(mnt);
    const again = await box.stats();
    expect(again.cache.blocks).toBe(listed);
    expect(await mountDifferences(mnt, FILES)).toEqual([]);
    expect((await box.stats()).requests.s3.get - again.requests.s3.get).toBe(0);
  });
});
