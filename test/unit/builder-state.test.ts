// builder-state.ts: a PackageBuilder saved as JSON and restored in another process must
// be the same builder: entries, sources with version ids, metadata byte for byte (1.0,
// big integers, key order, unicode), header and directory metadata, the built top hash
// and where it was pushed. A local file edited after hashing loses its hash (and the
// build); a damaged state is refused.
import { utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  checkBuilderState,
  restoreBuilder,
  saveBuilderState,
  type BuilderState,
} from "../../src/api/builder-state.js";
import { PackageBuilder, type BuilderSnapshot } from "../../src/api/package-builder.js";
import { Session } from "../../src/session.js";
import { isQuiltError } from "../../src/errors.js";
import { parseJson } from "../../src/manifest/json-parse.js";
import type { JsonObject } from "../../src/manifest/json-value.js";
import { PhysicalKey } from "../../src/manifest/physical-key.js";
import { manifestJson } from "../../src/manifest/python-json.js";
import { tempDir, removeTempDirs } from "../helpers/package-fixtures.js";

const contexts: Session[] = [];
afterAll(async () => {
  for (const c of contexts) await c.close();
  removeTempDirs();
});

const META =
  '{"b": 1.0, "10": 12345678901234567890, "a": [1e+16, -0.5, "été 😀", null], "nested": {"z": {}, "y": []}}';
const HEADER_META = '{"version": 2.0, "big": 9007199254740993}';

function obj(text: string): JsonObject {
  return parseJson(text) as JsonObject;
}

function setup(): { dir: string; registry: string; ctx: Session; builder: PackageBuilder } {
  const dir = tempDir("quilt-builder-state-");
  writeFileSync(join(dir, "a.txt"), "alpha\n");
  writeFileSync(join(dir, "b.txt"), "bravo\n");
  const ctx = new Session({ cacheDir: join(dir, "cache") });
  contexts.push(ctx);
  const registry = join(dir, "registry");
  // An S3 entry with a version and a known hash: building needs no network.
  const snapshot: BuilderSnapshot = {
    entries: [
      {
        logicalKey: "data/a.txt",
        source: PhysicalKey.local(join(dir, "a.txt")),
        meta: obj(`{"user_meta": ${META}}`),
      },
      { logicalKey: "data/b.txt", source: PhysicalKey.local(join(dir, "b.txt")), meta: new Map() },
      {
        logicalKey: "remote/x y+z.bin",
        source: PhysicalKey.s3("bucket", "pre fix/x y+z.bin", "v/1+2=="),
        size: 5,
        hash: obj('{"type": "sha2-256-chunked", "value": "LCa0a2j/xo/5m0U8HTBBNBNCLXBkg7+g+YpeiGJm564="}'),
        meta: obj('{"user_meta": {"k": 1}}'),
        checksumSha256: "abc=",
      },
    ],
    header: obj(`{"version": "v0", "message": "hello", "user_meta": ${HEADER_META}}`),
    dirMeta: new Map([["data/", parseJson('{"split": "train", "scale": 2.0}')]]),
    built: undefined,
    pushed: undefined,
  };
  const builder = PackageBuilder.fromState("ns/pkg:v1", snapshot, { session: ctx, registry });
  return { dir, registry, ctx, builder };
}

/** Saved, through JSON text (as in the workspace file), and restored. */
async function roundTrip(
  builder: PackageBuilder,
  ctx: Session,
  stamps?: Awaited<ReturnType<typeof restoreBuilder>>["stamps"],
) {
  const state = await saveBuilderState(builder, stamps ? { stamps } : {});
  const text = JSON.stringify(state);
  return { state, restored: await restoreBuilder(JSON.parse(text) as BuilderState, { session: ctx }) };
}

describe("builder state", () => {
  it("round-trips entries, metadata byte for byte, header, dir metadata, build and push", async () => {
    const { ctx, builder } = setup();
    const top = await builder.buildManifest();
    const { state, restored } = await roundTrip(builder, ctx);
    expect(state.name).toBe("ns/pkg:v1");
    expect(state.topHash).toBe(top);
    expect(restored.staleFiles).toEqual([]);
    expect(restored.warnings).toEqual([]);
    const b = restored.builder;
    expect(b.name).toBe("ns/pkg");
    expect(b.defaultTag).toBe("v1");
    expect(b.registry.url).toBe(builder.registry.url);
    expect(b.topHash).toBe(top);
    const before = builder.toState();
    const after = b.toState();
    expect(after.entries.map((e) => e.logicalKey)).toEqual(before.entries.map((e) => e.logicalKey));
    after.entries.forEach((e, i) => {
      const o = before.entries[i];
      expect(e.source.toString()).toBe(o?.source.toString());
      expect(e.size).toBe(o?.size);
      expect(manifestJson(e.meta)).toBe(manifestJson(o?.meta ?? new Map()));
      expect(manifestJson(e.hash ?? new Map())).toBe(manifestJson(o?.hash ?? new Map()));
      expect(e.checksumSha256).toBe(o?.checksumSha256);
    });
    expect(manifestJson(after.entries[0]?.meta ?? new Map())).toBe(`{"user_meta": ${META}}`);
    expect(after.entries[2]?.source.versionId).toBe("v/1+2==");
    expect(manifestJson(after.header)).toBe(
      `{"version": "v0", "message": "hello", "user_meta": ${HEADER_META}}`,
    );
    expect([...after.dirMeta].map(([k, v]) => [k, manifestJson(v)])).toEqual([
      ["data/", '{"split": "train", "scale": 2.0}'],
    ]);
    // Building the restored builder again gives the same manifest without re-hashing.
    expect(await b.buildManifest()).toBe(top);

    // Pushed to a local registry (force: the entries name local files), then restored.
    await b.pushManifest({ forceAllowLocalFiles: true });
    const again = await roundTrip(b, ctx, restored.stamps);
    expect(again.state.pushed?.url).toMatch(new RegExp(`/\\.quilt/packages/${top}$`));
    expect(again.state.pushed?.tag).toBe("v1");
    expect(again.restored.builder.toState().pushed).toEqual(again.state.pushed);
  });

  it("a local file edited after hashing loses its hash, the build and the push", async () => {
    const { dir, ctx, builder } = setup();
    const top = await builder.buildManifest();
    const first = await roundTrip(builder, ctx);
    writeFileSync(join(dir, "a.txt"), "ALPHA\n"); // same size, new bytes
    const later = Date.now() / 1000 + 10;
    utimesSync(join(dir, "a.txt"), later, later);
    const { restored } = await roundTrip(first.restored.builder, ctx, first.restored.stamps);
    // The in-memory builder of `first` still held the old hash when saved: the stamp it
    // kept is the one taken at hashing time, so the edit is seen on the next restore.
    expect(restored.staleFiles).toEqual([join(dir, "a.txt")]);
    expect(restored.builder.topHash).toBeUndefined();
    const a = restored.builder.toState().entries[0];
    expect(a?.hash).toBeUndefined();
    expect(await restored.builder.buildManifest()).not.toBe(top);

    // Saved with its new hash, then only touched (same bytes, new mtime): stale once,
    // the rebuild gives the same hash, and the stamp taken then holds from now on.
    const rebuilt = await roundTrip(restored.builder, ctx, restored.stamps);
    expect(rebuilt.restored.staleFiles).toEqual([]);
    const top2 = rebuilt.restored.builder.topHash;
    utimesSync(join(dir, "a.txt"), later + 10, later + 10);
    const touched = await roundTrip(rebuilt.restored.builder, ctx, rebuilt.restored.stamps);
    expect(touched.restored.staleFiles).toEqual([join(dir, "a.txt")]);
    expect(await touched.restored.builder.buildManifest()).toBe(top2);
    const settled = await roundTrip(touched.restored.builder, ctx, touched.restored.stamps);
    expect(settled.restored.staleFiles).toEqual([]);
    expect(settled.restored.builder.topHash).toBe(top2);
  });

  it("a build that does not match its entries is dropped with a warning", async () => {
    const { ctx, builder } = setup();
    await builder.buildManifest();
    const state = await saveBuilderState(builder);
    const tampered: BuilderState = { ...state, topHash: "0".repeat(64), pushed: { url: "x" } };
    const r = await restoreBuilder(tampered, { session: ctx });
    expect(r.builder.topHash).toBeUndefined();
    expect(r.builder.toState().pushed).toBeUndefined();
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toMatch(/does not match its entries/);
  });

  it("damaged states are refused with EBADMANIFEST", async () => {
    const { ctx, builder } = setup();
    const good = await saveBuilderState(builder);
    const bad: unknown[] = [
      null,
      { ...good, format: 2 },
      { ...good, entries: "nope" },
      { ...good, entries: [{ key: "k", source: "s3://b/k" }] },
      { ...good, entries: [{ ...good.entries[0], size: -1 }] },
      { ...good, topHash: "abc" },
    ];
    for (const s of bad) {
      let err: unknown;
      try {
        checkBuilderState(s);
      } catch (e) {
        err = e;
      }
      expect(isQuiltError(err, "EBADMANIFEST"), JSON.stringify(s)?.slice(0, 80)).toBe(true);
    }
    const badMeta = { ...good, entries: [{ ...good.entries[0], meta: "{not json" }] } as BuilderState;
    await expect(restoreBuilder(badMeta, { session: ctx })).rejects.toThrow(
      /Invalid builder state: meta of "data\/a\.txt"/,
    );
    const badSource = { ...good, entries: [{ ...good.entries[0], source: "ftp://x/y" }] } as BuilderState;
    await expect(restoreBuilder(badSource, { session: ctx })).rejects.toThrow(
      /Invalid builder state: entry "data\/a\.txt"/,
    );
  });
});
