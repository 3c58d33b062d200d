// Downloading a large object from moto: it comes as a few long ranged GETs (one per
// connection, chunk-aligned), not one request per 8 MiB chunk, and a connection that drops
// mid-body costs only the unfinished chunk: the part resumes at that chunk's start.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Package, PackageBuilder } from "../../src/index.js";
import { pseudoRandomBytes } from "../helpers/package-fixtures.js";
import { uniquePrefix } from "../helpers/s3.js";
import {
  cleanupAll,
  newContext,
  startCountingProxy,
  tempRoot,
  usecaseEnv,
  writeTree,
} from "../helpers/usecase-support.js";

const env = usecaseEnv();
afterAll(cleanupAll);

const MiB = 1024 * 1024;
/** Three hash chunks of 8, 8 and 4 MiB: past the 8 MiB threshold for ranged fetching. */
const SIZE = 20 * MiB + 7;

describe("download of a large object", () => {
  const salt = uniquePrefix("dl-large");
  const name = `${salt}/big`;
  const dataPrefix = `${salt}-data/`;
  const bytes = pseudoRandomBytes(SIZE, "big");

  beforeAll(async () => {
    const src = writeTree(tempRoot("dl-large-src"), { "big.bin": bytes });
    const b = new PackageBuilder(name, { registry: env.registry, session: newContext(env.endpoint) });
    await b.add(src, "");
    await b.pushDataAndManifest({ prefix: dataPrefix, tag: "v0" });
  });

  async function downloadThrough(proxyEndpoint: string, concurrency: number) {
    const pkg = await Package.browse(`${name}:v0`, {
      registry: env.registry,
      session: newContext(proxyEndpoint),
    });
    const dest = join(tempRoot("dl-large-dest"), "dataset");
    const result = await pkg.download(dest, { concurrency });
    expect(readFileSync(join(dest, "big.bin")).equals(bytes)).toBe(true);
    return result;
  }

  it("spreads the object over the connections as chunk-aligned ranges", async () => {
    const proxy = await startCountingProxy(env.endpoint);
    const result = await downloadThrough(proxy.endpoint, 16);
    expect(result.fetched).toEqual(["big.bin"]);
    const gets = proxy.gets(dataPrefix);
    expect(gets.map((g) => g.range).sort()).toEqual(
      [`bytes=0-${8 * MiB - 1}`, `bytes=${16 * MiB}-${SIZE - 1}`, `bytes=${8 * MiB}-${16 * MiB - 1}`].sort(),
    );
    expect(gets.reduce((n, g) => n + g.bytesOut, 0)).toBe(SIZE);
  });

  it("with one connection, fetches one long range and resumes a dropped one at its unfinished chunk", async () => {
    const proxy = await startCountingProxy(env.endpoint);
    proxy.cutNextGet(dataPrefix, 10 * MiB);
    await downloadThrough(proxy.endpoint, 1);
    const gets = proxy.gets(dataPrefix);
    expect(gets.map((g) => [g.range, g.cut ?? false])).toEqual([
      [`bytes=0-${SIZE - 1}`, true],
      [`bytes=${8 * MiB}-${SIZE - 1}`, false],
    ]);
    // Bytes sent again: only what lay past the last whole chunk when the connection dropped.
    expect(gets[1]?.bytesOut).toBe(SIZE - 8 * MiB);
  });
});
