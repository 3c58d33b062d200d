// `quilt cache stats` and `quilt daemon status` show the manifest index's leftovers: records of
// versions without a header (a drop cut short, a damaged version's records still going), never
// trusted, removed at a daemon's start. With the daemon stopped, read from the index itself;
// with it running and removing them (paused between two batches: QUILT_TEST_PAUSE_AT=
// index-drop), counted as being removed; once removed, gone from both.
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { IndexStats } from "../../src/daemon/ops.js";
import type { Manifest } from "../../src/manifest/manifest.js";
import { ManifestIndex, versionKey, type VersionId } from "../../src/storage/manifest-index.js";
import { DROP_BATCH_RECORDS } from "../../src/storage/manifest-index-drop.js";
import { bigManifest } from "../helpers/big-manifest.js";
import { DaemonSandbox, waitFor } from "../helpers/daemon-harness.js";
import { fuseUnavailable } from "../helpers/fuse-harness.js";

const unavailable = fuseUnavailable();

/** The daemon's index: one version whole, one hidden with part of its records removed (as a killed drop leaves); returns those left. */
async function indexWithLeftovers(stateDir: string): Promise<number> {
  const index = ManifestIndex.open(join(stateDir, "manifest-index"));
  try {
    const id = (m: Manifest): VersionId => ({
      registry: "file:///registry",
      name: "ns/pkg",
      topHash: m.topHash,
    });
    const whole = bigManifest({ files: 30_000, perDir: 300, flat: 1000, seed: "a" });
    const cut = bigManifest({ files: 30_000, perDir: 300, flat: 1000, seed: "b" });
    index.build(id(whole), whole);
    index.touch(versionKey(id(whole))); // as a mount of it did
    index.build(id(cut), cut);
    const vid = versionKey(id(cut));
    index.hide(vid);
    index.removeSome(vid, 10);
    return index.recordCount(id(cut));
  } finally {
    await index.close();
  }
}

describe("the manifest index's leftovers", () => {
  let box: DaemonSandbox | undefined;
  afterEach(async () => {
    await box?.cleanup();
    box = undefined;
  });

  it("cache stats shows them with the daemon stopped, as what its next start removes", async () => {
    const b = await DaemonSandbox.create("leftovers", { endpoint: "http://127.0.0.1:9" });
    box = b;
    const left = await indexWithLeftovers(b.stateDir);
    expect(left).toBeGreaterThan(2 * DROP_BATCH_RECORDS);
    const json = JSON.parse((await b.ok(["cache", "stats", "--json"])).stdout) as { index: IndexStats };
    expect(json.index).toMatchObject({ versions: 1, leftovers: { versions: 1, records: left, removing: 0 } });
    const text = (await b.ok(["cache", "stats"])).stdout;
    expect(text).toContain("Manifest index (daemon stopped): 1 version(s)");
    expect(text).toContain(
      `Manifest index leftovers: 1 version(s) without a header, ${left} record(s), not trusted; the daemon's next start removes them`,
    );
  });

  it.skipIf(unavailable !== null)(
    "daemon status and cache stats count them as being removed while the daemon removes them, and not once removed",
    async () => {
      const b = await DaemonSandbox.create("leftovers", { endpoint: "http://127.0.0.1:9" });
      box = b;
      const left = await indexWithLeftovers(b.stateDir);
      const marker = join(tmpdir(), `quilt-index-leftovers-${process.pid}-${Date.now()}`);
      // The start removes them in batches; paused after the first, the daemon answers on.
      await b.ok(["daemon", "start"], { QUILT_TEST_PAUSE_AT: "index-drop", QUILT_TEST_PAUSE_MARKER: marker });
      await waitFor(
        () => existsSync(marker),
        30_000,
        "the daemon to pause between two batches of its removal",
      );
      const removing = { versions: 1, records: left - DROP_BATCH_RECORDS, removing: 1 };
      expect(((await b.stats()) as unknown as { index: IndexStats }).index.leftovers).toEqual(removing);
      expect((await b.ok(["daemon", "status"])).stdout).toContain(
        `Manifest index leftovers: 1 version(s) without a header, ${removing.records} record(s), not trusted; 1 being removed now`,
      );
      const json = JSON.parse((await b.ok(["cache", "stats", "--json"])).stdout) as { index: IndexStats };
      expect(json.index.leftovers).toEqual(removing);
      await b.kill9();

      await b.ok(["daemon", "start"]);
      await waitFor(
        async () => ((await b.stats()) as unknown as { index: IndexStats }).index.leftovers?.versions === 0,
        30_000,
        "the daemon's start to remove the leftovers",
      );
      const after = (await b.stats()) as unknown as { index: IndexStats };
      expect(after.index).toMatchObject({ versions: 1, leftovers: { versions: 0, records: 0, removing: 0 } });
      expect((await b.ok(["daemon", "status"])).stdout).not.toContain("Manifest index leftovers");
    },
  );
});
