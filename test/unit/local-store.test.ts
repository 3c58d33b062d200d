import { execFileSync } from "node:child_process";
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LocalStore, localEtag, objectPath } from "../../src/storage/local-store.js";
import { collect, expectCode, names, objectStoreContract } from "../helpers/object-store-contract.js";

objectStoreContract({
  name: "local",
  make: async () => {
    const dir = mkdtempSync(join(tmpdir(), "local-store-"));
    return {
      store: new LocalStore(),
      bucket: dir,
      prefix: "t/",
      cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    };
  },
  versioned: false,
  // No parts on local disk; this runs the large-object round trip (the file body is reflinked/copied).
  multipart: { threshold: 1024 * 1024, partSize: 1024 * 1024, etagHasPartCount: false },
  reportsSha256: false,
});

describe("LocalStore", () => {
  let dir: string;
  const store = new LocalStore();
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "local-store-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("refuses keys that could escape the bucket directory", async () => {
    const bad = ["../x", "a/../../x", "a/..", "/etc/passwd", "a\0b", "", "a//b", "./a", "a/./b", "dir/"];
    for (const key of bad) {
      await expectCode(store.get({ bucket: dir, key }), "EBADKEY");
      await expectCode(store.put({ bucket: dir, key }, "x"), "EBADKEY");
      await expectCode(store.head({ bucket: dir, key }), "EBADKEY");
      await expectCode(store.delete({ bucket: dir, key }), "EBADKEY");
      await expectCode(store.copy({ bucket: dir, key }, { bucket: dir, key: "ok" }), "EBADKEY");
      await expectCode(store.copy({ bucket: dir, key: "ok" }, { bucket: dir, key }), "EBADKEY");
    }
    await expectCode(collect(store.list(dir, "../")), "EBADKEY");
    await expectCode(collect(store.list(dir, "a/../../")), "EBADKEY");
    await expectCode(store.get({ bucket: "relative/dir", key: "x" }), "EUSAGE");
    expect(readdirSync(dir)).toEqual([]);
    // ".." inside a name is fine: only whole components are dangerous.
    await store.put({ bucket: dir, key: "a..b/..c" }, "ok");
    expect(await store.get({ bucket: dir, key: "a..b/..c" })).toEqual(Buffer.from("ok"));
  });

  it("accepts / as the bucket for file:///abs/path keys", async () => {
    const key = join(dir, "via-root.txt").slice(1);
    await store.put({ bucket: "/", key }, "rooted");
    expect(statSync(join(dir, "via-root.txt")).size).toBe(6);
    expect(objectPath("/", key)).toBe(join(dir, "via-root.txt"));
    expect(await store.get({ bucket: "/", key })).toEqual(Buffer.from("rooted"));
  });

  it("writes atomically through a temp file and creates parent directories", async () => {
    await store.put({ bucket: dir, key: "deep/er/file" }, "v1");
    expect(readdirSync(join(dir, "deep/er"))).toEqual(["file"]);
    // Writers racing on one key: the result is one whole version, never a mix, no temp left.
    const bodies = Array.from({ length: 8 }, (_, i) => Buffer.alloc(64 * 1024, i + 1));
    await Promise.all(bodies.map((b) => store.put({ bucket: dir, key: "deep/er/file" }, b)));
    const got = await store.get({ bucket: dir, key: "deep/er/file" });
    expect(bodies.some((b) => b.equals(got))).toBe(true);
    expect(readdirSync(join(dir, "deep/er"))).toEqual(["file"]);
  });

  it("cleans up its temp file when a put fails", async () => {
    await expectCode(
      store.put({ bucket: dir, key: "x" }, { path: join(dir, "no-such-source") }),
      "ENOTFOUND",
    );
    expect(readdirSync(dir)).toEqual([]);
  });

  it("skips temp files and empty directories when listing", async () => {
    await store.put({ bucket: dir, key: "a/real" }, "x");
    writeFileSync(join(dir, "a", ".real.0123456789ab.tmp"), "partial");
    mkdirSync(join(dir, "empty/nested"), { recursive: true });
    expect(names(await collect(store.list(dir, "")))).toEqual(["a/real"]);
    expect(names(await collect(store.list(dir, "", { delimiter: "/" })))).toEqual(["P:a/"]);
    expect(names(await collect(store.list(dir, "empty/")))).toEqual([]);
  });

  it("lists files behind symlinks but does not walk linked directories", async () => {
    await store.put({ bucket: dir, key: "real/f" }, "x");
    symlinkSync(join(dir, "real/f"), join(dir, "link-to-file"));
    symlinkSync(join(dir, "real"), join(dir, "link-to-dir"));
    expect(names(await collect(store.list(dir, "")))).toEqual(["link-to-file", "real/f"]);
  });

  it("treats a versionId pin as a plain read and reports no versions", async () => {
    const res = await store.put({ bucket: dir, key: "k" }, "data");
    expect(res.versionId).toBeUndefined();
    expect(await store.get({ bucket: dir, key: "k", versionId: "whatever" })).toEqual(Buffer.from("data"));
    expect((await store.head({ bucket: dir, key: "k" })).versionId).toBeUndefined();
  });

  it("derives the etag from mtime and size, and notices in-place edits of the same size", async () => {
    const res = await store.put({ bucket: dir, key: "k" }, "data");
    const path = join(dir, "k");
    const st = statSync(path, { bigint: true });
    expect(res.etag).toBe(localEtag(st));
    expect(res.etag).toBe(`${st.mtimeNs}-4`);
    writeFileSync(path, "DATA");
    utimesSync(path, new Date(), new Date(Date.now() + 5000));
    await expectCode(store.get({ bucket: dir, key: "k", etag: res.etag }), "ESTALE");
    expect((await store.head({ bucket: dir, key: "k" })).etag).not.toBe(res.etag);
  });

  it("answers ENOTFOUND for directories and keys below a file", async () => {
    await store.put({ bucket: dir, key: "d/f" }, "x");
    await expectCode(store.get({ bucket: dir, key: "d" }), "ENOTFOUND");
    await expectCode(store.head({ bucket: dir, key: "d" }), "ENOTFOUND");
    await expectCode(store.get({ bucket: dir, key: "d/f/g" }), "ENOTFOUND");
    await store.delete({ bucket: dir, key: "d/f/g" });
  });

  it("refuses a FIFO where an object should be at once, for a read, a stream, a head and a copy", async () => {
    mkdirSync(join(dir, "d"));
    execFileSync("mkfifo", [join(dir, "d", "pipe")]);
    // A plain open of a FIFO blocks until a writer comes: before the fix this test hung.
    await expectCode(store.get({ bucket: dir, key: "d/pipe" }), "ENOTFOUND");
    await expectCode(store.get({ bucket: dir, key: "d/pipe" }, { range: { start: 0, end: 1 } }), "ENOTFOUND");
    await expectCode(store.getStream({ bucket: dir, key: "d/pipe" }), "ENOTFOUND");
    await expectCode(store.head({ bucket: dir, key: "d/pipe" }), "ENOTFOUND");
    await expectCode(store.copy({ bucket: dir, key: "d/pipe" }, { bucket: dir, key: "copy" }), "ENOTFOUND");
  }, 5_000);

  it("copies across directories with a fresh etag", async () => {
    await store.put({ bucket: dir, key: "src" }, "copy me");
    const other = join(dir, "other-bucket");
    const res = await store.copy({ bucket: dir, key: "src" }, { bucket: other, key: "x/y" });
    expect(await store.get({ bucket: other, key: "x/y" })).toEqual(Buffer.from("copy me"));
    expect((await store.head({ bucket: other, key: "x/y" })).etag).toBe(res.etag);
  });
});
