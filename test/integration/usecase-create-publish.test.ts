// USECASES.md "Create and Publish", step by step on the moto server: add a file and a
// directory, build, both refusals of asPackage, pushData under /data/dataset/v0/, push the
// manifest as v0, a Package cannot be altered, a builder from the package replaces one
// file and pushes data and manifest (unchanged data skipped, only the replacement
// uploaded). Also: pushing the same local files again uploads nothing, two pushes racing
// on one tag both keep their manifest, and the real quilt3 reads what we pushed.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { isQuiltError, Package, PackageBuilder } from "../../src/index.js";
import { LOCAL_FILES_ERROR, LOCAL_MANIFEST_ERROR } from "../../src/api/builder-push.js";
import { pseudoRandomBytes } from "../helpers/package-fixtures.js";
import { uniquePrefix } from "../helpers/s3.js";
import {
  cleanupAll,
  newContext,
  objectVersions,
  parseDisplay,
  quilt3Read,
  re,
  rejection,
  sha256Hex,
  tempRoot,
  usecaseEnv,
  withCwd,
  writeTree,
} from "../helpers/usecase-support.js";

const env = usecaseEnv();
afterAll(cleanupAll);

function datasetFiles(salt: string): Record<string, string | Buffer> {
  return {
    "README.md": `# Dataset ${salt}\n\nHere is some info about our dataset...\n`,
    "train2017/1.jpg": pseudoRandomBytes(3000, `${salt}-1`),
    "train2017/2.jpg": pseudoRandomBytes(4000, `${salt}-2`),
    "train2017/3.jpg": pseudoRandomBytes(5000, `${salt}-3`),
    "train2017/4.jpg": pseudoRandomBytes(6000, `${salt}-4`),
    "replacement/1.jpg": pseudoRandomBytes(3500, `${salt}-replacement`),
  };
}

describe("use case: Create and Publish", () => {
  it("add, build, refuse, pushData, pushManifest v0, immutable Package, replace one file and push data and manifest", async () => {
    const ctx = newContext(env.endpoint);
    const salt = uniquePrefix("ucpub");
    const ws = writeTree(tempRoot("create"), datasetFiles(salt));
    const name = `${salt}/dataset`;
    const root = `${salt}-data`;
    const base = `${env.registry}/${root}/data/dataset/v0`;
    const lines: string[] = [];
    const output = (l: string) => lines.push(l);

    await withCwd(ws, async () => {
      // Create a PackageBuilder and add a directory
      const b = new PackageBuilder(name, { registry: env.registry, session: ctx, output });
      await b.add("README.md");
      await b.add("train2017/");
      expect(parseDisplay(b.toString())).toEqual({
        kind: "PackageBuilder",
        fields: { name, tophash: "pre-manifest", manifest: "pre-manifest" },
        contents: [
          ["README.md", "./README.md"],
          ["train2017/", "./train2017/..."],
        ],
      });

      // Hash and build manifest
      const top = await b.buildManifest();
      expect(top).toMatch(/^[0-9a-f]{64}$/);
      expect(lines).toEqual(["Building manifest...", `Tophash: ${top}`]);
      expect(parseDisplay(b.toString()).fields).toEqual({ name, tophash: top, manifest: "local" });
      expect(parseDisplay(b.toString()).contents).toEqual([
        ["README.md", "./README.md"],
        ["train2017/", "./train2017/..."],
      ]);

      // Try to use this PackageBuilder as a Package: both refusals
      const localFiles = await rejection(b.asPackage());
      expect(isQuiltError(localFiles, "EUSAGE")).toBe(true);
      expect(localFiles.message).toBe(LOCAL_FILES_ERROR);
      const localManifest = await rejection(b.asPackage({ allowLocalFiles: true }));
      expect(localManifest.message).toBe(LOCAL_MANIFEST_ERROR);
      expect((await rejection(b.pushManifest({ tag: "v0" }))).message).toMatch(
        /^Manifest contains pointers to local files\./,
      );

      // Push the local data to s3 and update the pointers; the manifest is still local
      lines.length = 0;
      await b.pushData({ prefix: `/${root}/data/dataset/v0/` });
      expect([...lines].sort()).toEqual([
        `Pushing ./README.md to ${base}/README.md`,
        `Pushing ./train2017/ to ${base}/train2017/...`,
      ]);
      const display = parseDisplay(b.toString());
      expect(display.fields).toEqual({ name, tophash: top, manifest: "local" });
      expect(display.contents).toEqual([
        ["README.md", `${base}/README.md`],
        ["train2017/", `${base}/train2017/...`],
      ]);
      expect(Object.fromEntries(await objectVersions(env, `${root}/`))).toEqual(
        Object.fromEntries(
          ["README.md", "train2017/1.jpg", "train2017/2.jpg", "train2017/3.jpg", "train2017/4.jpg"].map(
            (k) => [`${root}/data/dataset/v0/${k}`, 1],
          ),
        ),
      );

      // Still not a Package: the manifest is not in s3
      const notPushed = await rejection(b.asPackage());
      expect(notPushed.message).toBe(LOCAL_MANIFEST_ERROR);

      // Push the manifest to s3: now the user has a Package
      lines.length = 0;
      const pkg = await b.pushManifest({ tag: "v0" });
      const manifestUrl = `${env.registry}/.quilt/packages/${top}`;
      expect(lines).toEqual([
        `Pushing manifest to ${manifestUrl}`,
        `Linking ${name}:v0 to manifest ${top.slice(0, 9)}`,
      ]);
      expect(pkg).toBeInstanceOf(Package);
      expect(parseDisplay(pkg.toString())).toEqual({
        kind: "Package",
        fields: { name: `${name}:v0`, tophash: top, manifest: manifestUrl },
        contents: [
          ["README.md", `${base}/README.md`],
          ["train2017/", `${base}/train2017/...`],
        ],
      });
      const asPkg = await b.asPackage();
      expect(asPkg.hash).toBe(top);
      expect(asPkg.toString()).toBe(pkg.toString());
      const browsed = await Package.browse(`${name}:v0`, {
        registry: env.registry,
        session: newContext(env.endpoint),
      });
      expect(browsed.hash).toBe(top);
      expect(browsed.toString()).toBe(pkg.toString());

      // A Package cannot be altered
      const set: (...args: unknown[]) => unknown = pkg.set.bind(pkg);
      expect(() => set("train2017/1.jpg", "./replacement/1.jpg", { meta: {} })).toThrow(
        /^Package has no method set\(\)/,
      );

      // You need a PackageBuilder to make changes
      const b2 = pkg.asPackageBuilder({ output });
      await b2.set("train2017/1.jpg", "./replacement/1.jpg", { meta: {} });
      expect(parseDisplay(b2.toString())).toEqual({
        kind: "PackageBuilder",
        fields: { name, tophash: "pre-manifest", manifest: "pre-manifest" },
        contents: [
          ["README.md", `${base}/README.md`],
          ["train2017/...", `${base}/train2017/...`],
          ["train2017/1.jpg", "./replacement/1.jpg"],
        ],
      });

      // Push data and manifest together: unchanged data skipped, only the replacement uploaded
      const versionsBefore = await objectVersions(env, `${root}/`);
      lines.length = 0;
      const pkg2 = await b2.pushDataAndManifest({ prefix: `/${root}/data/dataset/v0/` });
      const top2 = pkg2.hash;
      expect(top2).not.toBe(top);
      const skipLine = new RegExp(
        `^(Pushing|Copying) (\\./train2017/|${re(base)}/train2017/) to ${re(base)}/train2017/\\.\\.\\. \\(data exists, skipping\\)$`,
      );
      expect
        .soft(
          lines.filter((l) => skipLine.test(l)),
          `a "data exists, skipping" line for train2017/ in:\n${lines.join("\n")}`,
        )
        .toHaveLength(1);
      expect(lines).toContain(`Pushing ./replacement/1.jpg to ${base}/train2017/1.jpg`);
      const tail = lines.slice(lines.indexOf("Building manifest..."));
      expect(tail).toEqual([
        "Building manifest...",
        `Tophash: ${top2}`,
        `Pushing manifest to ${env.registry}/.quilt/packages/${top2}`,
      ]);
      const versionsAfter = await objectVersions(env, `${root}/`);
      const expectedAfter = new Map(versionsBefore);
      expectedAfter.set(`${root}/data/dataset/v0/train2017/1.jpg`, 2);
      expect(Object.fromEntries(versionsAfter)).toEqual(Object.fromEntries(expectedAfter));

      const d2 = parseDisplay(pkg2.toString());
      expect(d2.kind).toBe("Package");
      expect(d2.fields.name).toMatch(new RegExp(`^${re(name)}(:latest)?$`));
      expect(d2.fields.tophash).toBe(top2);
      expect(d2.contents).toEqual([
        ["README.md", `${base}/README.md`],
        ["train2017/", `${base}/train2017/...`],
      ]);

      // Both versions stay readable: v0 still gives the original bytes (pinned versions).
      const files = datasetFiles(salt);
      expect(sha256Hex(await pkg2.getContents("train2017/1.jpg"))).toBe(
        sha256Hex(files["replacement/1.jpg"] as Buffer),
      );
      const v0 = await Package.browse(`${name}:v0`, {
        registry: env.registry,
        session: newContext(env.endpoint),
      });
      expect(sha256Hex(await v0.getContents("train2017/1.jpg"))).toBe(
        sha256Hex(files["train2017/1.jpg"] as Buffer),
      );
      const latest = await Package.browse(name, {
        registry: env.registry,
        session: newContext(env.endpoint),
      });
      expect(latest.hash).toBe(top2);

      // The real quilt3 reads both versions with the same top hashes and bytes.
      const [q0, q1] = await quilt3Read(env, [{ name, hash: top }, { name }]);
      expect(q0?.top_hash).toBe(top);
      expect(q1?.top_hash).toBe(top2);
      for (const [seen, ours, replaced] of [
        [q0, pkg, false],
        [q1, pkg2, true],
      ] as const) {
        expect(Object.keys(seen?.entries ?? {}).sort()).toEqual([
          "README.md",
          "train2017/1.jpg",
          "train2017/2.jpg",
          "train2017/3.jpg",
          "train2017/4.jpg",
        ]);
        for (const e of ours) {
          const q = seen?.entries[e.logicalKey];
          expect(q?.physical_key).toBe(e.physicalKey);
          const local = e.logicalKey === "train2017/1.jpg" && replaced ? "replacement/1.jpg" : e.logicalKey;
          expect(q?.sha256, `quilt3's bytes of ${e.logicalKey}`).toBe(
            sha256Hex(readFileSync(join(ws, local))),
          );
        }
      }
    });
  });

  it("pushing the same local files again prints (data exists, skipping) and uploads nothing", async () => {
    const ctx = newContext(env.endpoint);
    const salt = uniquePrefix("ucskip");
    const ws = writeTree(tempRoot("skip"), datasetFiles(salt));
    const root = `${salt}-data`;
    const base = `${env.registry}/${root}/data/dataset/v0`;
    await withCwd(ws, async () => {
      const first = new PackageBuilder(`${salt}/dataset`, { registry: env.registry, session: ctx });
      await first.add("README.md");
      await first.add("train2017/");
      await first.pushData({ prefix: `/${root}/data/dataset/v0/` });
      const before = await objectVersions(env, `${root}/`);
      expect(before.size).toBe(5);

      const lines: string[] = [];
      const again = new PackageBuilder(`${salt}/dataset`, {
        registry: env.registry,
        session: ctx,
        output: (l) => lines.push(l),
      });
      await again.add("README.md");
      await again.add("train2017/");
      await again.pushData({ prefix: `/${root}/data/dataset/v0/` });
      expect([...lines].sort()).toEqual([
        `Pushing ./README.md to ${base}/README.md (data exists, skipping)`,
        `Pushing ./train2017/ to ${base}/train2017/... (data exists, skipping)`,
      ]);
      expect(Object.fromEntries(await objectVersions(env, `${root}/`))).toEqual(Object.fromEntries(before));
      // The skipped entries point at the objects already there.
      expect(parseDisplay(again.toString()).contents).toEqual([
        ["README.md", `${base}/README.md`],
        ["train2017/", `${base}/train2017/...`],
      ]);
      expect(await again.buildManifest()).toBe(await first.buildManifest());
    });
  });

  it("two pushes racing on the same tag keep both manifests, and the tag names one of them", async () => {
    const ctx = newContext(env.endpoint);
    const salt = uniquePrefix("ucrace");
    const name = `${salt}/dataset`;
    const ws = writeTree(tempRoot("race"), {
      "a/data.txt": "version A\n",
      "b/data.txt": "version B, longer\n",
    });
    const builders = await Promise.all(
      ["a", "b"].map(async (which) => {
        const b = new PackageBuilder(name, { registry: env.registry, session: ctx });
        await b.add(join(ws, which, "data.txt"));
        await b.pushData({ prefix: `${salt}-data/${which}/` });
        await b.buildManifest();
        return b;
      }),
    );
    const [pa, pb] = await Promise.all(builders.map((b) => b.pushManifest({ tag: "race" })));
    expect(pa?.hash).not.toBe(pb?.hash);
    const reader = newContext(env.endpoint);
    for (const [pkg, text] of [
      [pa, "version A\n"],
      [pb, "version B, longer\n"],
    ] as const) {
      const byHash = await Package.browse(name, { registry: env.registry, hash: pkg?.hash, session: reader });
      expect(byHash.hash).toBe(pkg?.hash);
      expect((await byHash.getContents("data.txt")).toString()).toBe(text);
    }
    const tagged = await Package.browse(`${name}:race`, {
      registry: env.registry,
      session: newContext(env.endpoint),
    });
    expect([pa?.hash, pb?.hash]).toContain(tagged.hash);
    const latest = await Package.browse(name, { registry: env.registry, session: newContext(env.endpoint) });
    expect([pa?.hash, pb?.hash]).toContain(latest.hash);
  });
});
