// USECASES.md's PyTorch Dataset, in the shape a training script has once the package is
// mounted: plain Python file reads under the mount, the annotations JSON file, and each
// image's annotations from its `user.quilt.meta` extended attribute instead of the
// manifest. Items are fetched by a pool of worker processes, as DataLoader workers would.
// Every image's bytes and annotations must come out right.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DaemonSandbox } from "../helpers/daemon-harness.js";
import {
  publishFiles,
  pseudoRandomBytes,
  pythonBin,
  runCommand,
  sha256Hex,
} from "../helpers/daemon-fixtures.js";
import { fuseUnavailable } from "../helpers/fuse-harness.js";
import { s3TestEnv, uniquePrefix } from "../helpers/s3.js";

const unavailable = fuseUnavailable();
if (unavailable) console.warn(`Skipping daemon PyTorch-style tests: ${unavailable}`);

const s3 = s3TestEnv();
const registry = `s3://${s3.bucket}`;
const salt = uniquePrefix("dmtorch");
const name = `${salt}/dataset`;

interface Annotation {
  image_id: number;
  category: string;
  bbox: number[];
}

const CATEGORIES = ["cat", "dog", "rat"];
const images = Array.from({ length: 12 }, (_, i) =>
  i < 8 ? `${String(i + 1).padStart(4, "0")}.jpg` : `extra/${String(i + 1).padStart(4, "0")}.jpg`,
);
const annotations = {
  images: images.map((path, i) => ({ path, image_id: i + 1 })),
  annotations: images.flatMap((_, i): Annotation[] =>
    Array.from({ length: 1 + (i % 3) }, (_, k) => ({
      image_id: i + 1,
      category: CATEGORIES[(i + k) % 3] as string,
      bbox: [i, k, 10.5 + i, 20 + k],
    })),
  ),
};
const FILES: Record<string, Buffer> = {
  "README.md": Buffer.from("# Dataset\n\nImages with annotations.\n"),
  ...Object.fromEntries(
    images.map((img, i) => [`train/${img}`, pseudoRandomBytes(5_000 + 25_000 * i, `${salt}-${img}`)]),
  ),
  "val/x.jpg": pseudoRandomBytes(1500, `${salt}-val`),
  "annotations/train.json": Buffer.from(JSON.stringify(annotations)),
};
const META = Object.fromEntries(
  annotations.images.map((img) => [
    `train/${img.path}`,
    { annotations: annotations.annotations.filter((a) => a.image_id === img.image_id) },
  ]),
);

const SCRIPT = String.raw`
import hashlib, json, os, sys
from multiprocessing import Pool

class MyCustomDataset:
    def __init__(self, root):
        self.root = root
        train = os.path.join(root, "train")
        self.img_paths = sorted(os.path.join(d, f) for d, _, files in os.walk(train) for f in files)
        with open(os.path.join(root, "annotations", "train.json")) as f:
            self.annotations = json.load(f)

    def __len__(self):
        return len(self.img_paths)

    def __getitem__(self, idx):
        path = self.img_paths[idx]
        rel = os.path.relpath(path, os.path.join(self.root, "train"))
        # In existing codebases, annotations are often stored in a single file
        img_id = [img for img in self.annotations["images"] if img["path"] == rel]
        assert len(img_id) == 1, rel
        img_id = img_id[0]["image_id"]
        from_file = [ann for ann in self.annotations["annotations"] if ann["image_id"] == img_id]
        # With Quilt Packages, each entry has metadata: on a mount, in an extended attribute
        meta = json.loads(os.getxattr(path, "user.quilt.meta"))
        with open(path, "rb") as f:
            image = f.read()
        return {"path": rel, "image": image, "annotations": meta["annotations"], "from_file": from_file}

def item(idx):
    x = DATASET[idx]
    return {"path": x["path"], "size": len(x["image"]), "sha256": hashlib.sha256(x["image"]).hexdigest(), "annotations": x["annotations"], "from_file": x["from_file"]}

DATASET = MyCustomDataset(sys.argv[1])
if __name__ == "__main__":
    with Pool(4) as pool:
        items = pool.map(item, range(len(DATASET)))
    print(json.dumps({"length": len(DATASET), "items": items, "top_hash": os.getxattr(sys.argv[1], "user.quilt.top_hash").decode()}))
`;

interface Item {
  path: string;
  size: number;
  sha256: string;
  annotations: Annotation[];
  from_file: Annotation[];
}

describe.skipIf(unavailable !== null)("daemon: a PyTorch-style Dataset over a mount", () => {
  let box: DaemonSandbox;
  let mnt = "";
  let topHash = "";

  beforeAll(async () => {
    topHash = (
      await publishFiles(s3.endpoint, registry, name, FILES, { prefix: `${salt}-data/`, meta: META })
    ).topHash;
    box = await DaemonSandbox.create("torch", { endpoint: s3.endpoint });
    mnt = await box.mountDir("dataset");
    await box.mount(`${name}:v1`, mnt, registry);
  });

  afterAll(async () => {
    await box?.cleanup();
  });

  it("iterates the mount and gets every image and its annotations right", async () => {
    const out = JSON.parse(await runCommand(pythonBin(), ["-c", SCRIPT, mnt], { timeoutMs: 120_000 })) as {
      length: number;
      items: Item[];
      top_hash: string;
    };
    expect(out.top_hash).toBe(topHash);
    expect(out.length).toBe(images.length);
    expect(out.items.map((i) => i.path)).toEqual([...images].sort());
    for (const item of out.items) {
      const src = FILES[`train/${item.path}`] as Buffer;
      expect(item.size, item.path).toBe(src.length);
      expect(item.sha256, item.path).toBe(sha256Hex(src));
      const imageId = images.indexOf(item.path) + 1;
      const expected = annotations.annotations.filter((a) => a.image_id === imageId);
      expect(item.from_file, item.path).toEqual(expected);
      expect(item.annotations, item.path).toEqual(expected);
    }
    const stats = await box.stats();
    expect(stats.cache.hashMismatches).toBe(0);
  });
});
