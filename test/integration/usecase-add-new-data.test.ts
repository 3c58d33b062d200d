// USECASES.md "Add new data to dataset" on the moto server: a labelling service delivers
// objects to S3, they become the package new-data:2019-10-30; the main dataset:master gets
// them through a builder (one Package added to another), the move into labelled/ fails on
// a collision unless asked to overwrite, and the result is pushed as master. The previous
// master stays reachable by hash (rollback), and the real quilt3 reads the new one.
import { afterAll, describe, expect, it } from "vitest";
import { Package, PackageBuilder } from "../../src/index.js";
import { pseudoRandomBytes } from "../helpers/package-fixtures.js";
import { uniquePrefix } from "../helpers/s3.js";
import {
  cleanupAll,
  newContext,
  objectVersions,
  parseDisplay,
  quilt3Read,
  re,
  sha256Hex,
  tempRoot,
  usecaseEnv,
  writeTree,
} from "../helpers/usecase-support.js";

const env = usecaseEnv();
afterAll(cleanupAll);

describe("use case: Add new data to dataset", () => {
  it("adds one Package to another's builder, refuses a colliding move, overwrites when asked, pushes master", async () => {
    const salt = uniquePrefix("ucadd");
    const ctx = newContext(env.endpoint);
    const serviceRoot = `${salt}/data-labelling-service/2019-10-30`;
    const serviceBase = `${env.registry}/${serviceRoot}`;
    const datasetBase = `${env.registry}/${salt}/data/dataset/labelled`;
    const newBytes = {
      "1.jpg": pseudoRandomBytes(2500, `${salt}-new1`),
      "2.jpg": pseudoRandomBytes(2600, `${salt}-new2`),
    };
    const oldBytes = {
      "1.jpg": pseudoRandomBytes(2400, `${salt}-old1`),
      "3.jpg": pseudoRandomBytes(2700, `${salt}-old3`),
    };

    // The labelling service drops its batch into S3.
    const store = ctx.stores.s3();
    for (const [k, bytes] of Object.entries(newBytes))
      await store.put({ bucket: env.bucket, key: `${serviceRoot}/${k}` }, bytes);
    const nd = new PackageBuilder(`${salt}/new-data`, { registry: env.registry, session: ctx });
    await nd.add(`${serviceBase}/`, "new_data/");
    await nd.pushManifest({ tag: "2019-10-30" });

    // The main dataset, pushed from local files to data/dataset/labelled/.
    const src = writeTree(
      tempRoot("add"),
      Object.fromEntries(Object.entries(oldBytes).map(([k, b]) => [`labelled/${k}`, b])),
    );
    const main = new PackageBuilder(`${salt}/dataset`, { registry: env.registry, session: ctx });
    await main.add(`${src}/labelled`);
    const previous = await main.pushDataAndManifest({ prefix: `${salt}/data/dataset/`, tag: "master" });

    const reader = newContext(env.endpoint);
    const newData = await Package.browse(`${salt}/new-data:2019-10-30`, {
      registry: env.registry,
      session: reader,
    });
    expect(parseDisplay(newData.toString())).toMatchObject({
      kind: "Package",
      fields: { name: `${salt}/new-data:2019-10-30`, tophash: newData.hash },
      contents: [["new_data/", `${serviceBase}/...`]],
    });
    const mainDataset = await Package.browse(`${salt}/dataset:master`, {
      registry: env.registry,
      session: reader,
    });
    expect(mainDataset.hash).toBe(previous.hash);
    expect(parseDisplay(mainDataset.toString())).toMatchObject({
      kind: "Package",
      fields: { name: `${salt}/dataset:master`, tophash: previous.hash },
      contents: [["labelled/", `${datasetBase}/...`]],
    });

    const lines: string[] = [];
    const pkgBuilder = mainDataset.asPackageBuilder({ output: (l) => lines.push(l) });
    const d0 = parseDisplay(pkgBuilder.toString());
    expect(d0.kind).toBe("PackageBuilder");
    expect(d0.fields.name).toMatch(new RegExp(`^${re(`${salt}/dataset`)}(:master)?$`));
    expect(d0.fields.tophash).toBe("pre-manifest");
    expect(d0.contents).toEqual([["labelled/", `${datasetBase}/...`]]);

    await pkgBuilder.add(newData);
    expect(parseDisplay(pkgBuilder.toString()).contents).toEqual([
      ["labelled/", `${datasetBase}/...`],
      ["new_data/", `${serviceBase}/...`],
    ]);

    // Logical key renaming fails on collisions by default, and changes nothing.
    expect(() => pkgBuilder.moveDirContents("new_data/", "labelled/")).toThrow(
      'Collision detected. moving "new_data/1.jpg" to "labelled/1.jpg", but "labelled/1.jpg" already exists. Use overwrite: true if you would like to replace "labelled/1.jpg" with "new_data/1.jpg".',
    );
    expect(pkgBuilder.keys()).toEqual([
      "labelled/1.jpg",
      "labelled/3.jpg",
      "new_data/1.jpg",
      "new_data/2.jpg",
    ]);

    pkgBuilder.moveDirContents("new_data/", "labelled/", { overwrite: true });
    expect(pkgBuilder.keys()).toEqual(["labelled/1.jpg", "labelled/2.jpg", "labelled/3.jpg"]);
    const moved = parseDisplay(pkgBuilder.toString());
    expect(moved.fields.tophash).toBe("pre-manifest");
    // Both sources show: the labelling service's objects now under labelled/, and the old 3.jpg.
    const sources = moved.contents.map(([, s]) => s);
    expect(sources.some((s) => s.startsWith(`${serviceBase}/`))).toBe(true);
    expect(sources.some((s) => s.startsWith(`${datasetBase}/`))).toBe(true);
    expect(moved.contents.every(([k]) => k.startsWith("labelled/"))).toBe(true);

    const dataBefore = await objectVersions(env, `${salt}/`);
    const pkg = await pkgBuilder.pushManifest({ tag: "master" });
    const top = pkg.hash;
    expect(top).not.toBe(previous.hash);
    expect(lines).toEqual([
      "Building manifest...",
      `Tophash: ${top}`,
      `Pushing manifest to ${env.registry}/.quilt/packages/${top}`,
      `Linking ${salt}/dataset:master to manifest ${top.slice(0, 9)}`,
    ]);
    // pushManifest moves no data: every entry still points where it was.
    expect(Object.fromEntries(await objectVersions(env, `${salt}/`))).toEqual(Object.fromEntries(dataBefore));
    expect(pkg.getEntry("labelled/1.jpg").physicalKey).toBe(newData.getEntry("new_data/1.jpg").physicalKey);
    expect(pkg.getEntry("labelled/3.jpg").physicalKey).toBe(
      mainDataset.getEntry("labelled/3.jpg").physicalKey,
    );

    const master = await Package.browse(`${salt}/dataset:master`, {
      registry: env.registry,
      session: newContext(env.endpoint),
    });
    expect(master.hash).toBe(top);
    expect(sha256Hex(await master.getContents("labelled/1.jpg"))).toBe(sha256Hex(newBytes["1.jpg"]));
    expect(sha256Hex(await master.getContents("labelled/2.jpg"))).toBe(sha256Hex(newBytes["2.jpg"]));
    expect(sha256Hex(await master.getContents("labelled/3.jpg"))).toBe(sha256Hex(oldBytes["3.jpg"]));

    // Rollback: the previous master is still there, by hash.
    const rolledBack = await Package.browse(`${salt}/dataset`, {
      registry: env.registry,
      hash: previous.hash,
      session: newContext(env.endpoint),
    });
    expect(rolledBack.hash).toBe(previous.hash);
    expect(sha256Hex(await rolledBack.getContents("labelled/1.jpg"))).toBe(sha256Hex(oldBytes["1.jpg"]));
    expect(rolledBack.diff(master)).toEqual({
      added: ["labelled/2.jpg"],
      removed: [],
      modified: ["labelled/1.jpg"],
      metadataChanged: [],
    });

    // The real quilt3 reads the new master (latest) and the new-data package.
    const [q, qn] = await quilt3Read(env, [{ name: `${salt}/dataset` }, { name: `${salt}/new-data` }]);
    expect(q?.top_hash).toBe(top);
    expect(qn?.top_hash).toBe(newData.hash);
    expect(q?.entries["labelled/1.jpg"]?.sha256).toBe(sha256Hex(newBytes["1.jpg"]));
    expect(q?.entries["labelled/3.jpg"]?.physical_key).toBe(pkg.getEntry("labelled/3.jpg").physicalKey);
  });
});
