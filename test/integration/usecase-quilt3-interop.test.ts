// The use cases across clients on the moto server: a package the real quilt3 pushed is
// browsed here (readme, listing, bytes, metadata), extended with asPackageBuilder (one
// file added), pushed by us, and read back by quilt3 with the same top hash, its own
// entries untouched and the new file's bytes correct.
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Package } from "../../src/index.js";
import { pseudoRandomBytes } from "../helpers/package-fixtures.js";
import { runQuilt3Json } from "../helpers/quilt3.js";
import { uniquePrefix } from "../helpers/s3.js";
import {
  cleanupAll,
  newContext,
  quilt3Read,
  sha256Hex,
  tempRoot,
  usecaseEnv,
  writeTree,
} from "../helpers/usecase-support.js";

const env = usecaseEnv();
afterAll(cleanupAll);

describe("use cases across clients: quilt3 pushes, we extend, quilt3 reads", () => {
  it("browses a quilt3 package, adds a file through asPackageBuilder, pushes; quilt3 reads the same top hash", async () => {
    const salt = uniquePrefix("ucq3");
    const name = `${salt}/dataset`;
    const files: Record<string, string | Buffer> = {
      "README.md": "# Dataset\n\nPushed by quilt3.\n",
      "train/1.jpg": pseudoRandomBytes(4000, `${salt}-1`),
      "train/2.jpg": pseudoRandomBytes(5000, `${salt}-2`),
      "annotations/train.json": '{"images": [{"path": "1.jpg", "image_id": 1}]}',
    };
    const src = writeTree(tempRoot("q3src"), files);
    const pushed = await runQuilt3Json<{ top_hash: string }>(
      `import contextlib
from quilt3 import Package
with contextlib.redirect_stdout(sys.stderr):
    p = Package()
    p.set_dir("/", ARGS["dir"])
    p.set("train/1.jpg", ARGS["dir"] + "/train/1.jpg", meta={"label": "cat", "score": 0.5})
    p.set_meta({"source": "quilt3", "version": 1})
    top = p.push(ARGS["name"], registry=ARGS["registry"], message="from quilt3", force=True).top_hash
print(json.dumps({"top_hash": top}))`,
      { dir: src, name, registry: env.registry },
      { env: env.env },
    );

    const pkg = await Package.browse(name, { registry: env.registry, session: newContext(env.endpoint) });
    expect(pkg.hash).toBe(pushed.top_hash);
    expect(await pkg.readme()).toBe(files["README.md"]);
    expect(pkg.ls().map((e) => e.logicalKey)).toEqual(["README.md", "annotations/", "train/"]);
    expect(pkg.getMetadata("train/1.jpg")).toEqual({ label: "cat", score: 0.5 });
    expect(pkg.metadata).toEqual({ source: "quilt3", version: 1 });
    expect(pkg.message).toBe("from quilt3");
    for (const e of pkg)
      expect(sha256Hex(await e.getBytes()), `bytes of ${e.logicalKey}`).toBe(
        sha256Hex(files[e.logicalKey] as Buffer),
      );

    const added = writeTree(tempRoot("q3add"), { "labels-v2.csv": "image,label\n1.jpg,cat\n2.jpg,dog\n" });
    const b = pkg.asPackageBuilder();
    await b.add(join(added, "labels-v2.csv"), "annotations/");
    const ours = await b.pushDataAndManifest({ tag: "extended" });
    expect(ours.hash).not.toBe(pkg.hash);
    expect(
      ours
        .getEntry("annotations/labels-v2.csv")
        .physicalKey.startsWith(`${env.registry}/${name}/annotations/labels-v2.csv?versionId=`),
    ).toBe(true);

    const [seen] = await quilt3Read(env, [{ name }]);
    expect(seen?.top_hash).toBe(ours.hash);
    expect(seen?.meta).toEqual({ source: "quilt3", version: 1 });
    expect(Object.keys(seen?.entries ?? {}).sort()).toEqual(
      [...Object.keys(files), "annotations/labels-v2.csv"].sort(),
    );
    for (const e of pkg)
      expect(seen?.entries[e.logicalKey]?.physical_key, `quilt3's entry ${e.logicalKey} kept`).toBe(
        e.physicalKey,
      );
    expect(seen?.entries["train/1.jpg"]?.meta).toEqual({ label: "cat", score: 0.5 });
    expect(seen?.entries["annotations/labels-v2.csv"]?.sha256).toBe(
      sha256Hex("image,label\n1.jpg,cat\n2.jpg,dog\n"),
    );
  });
});
