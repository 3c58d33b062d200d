// A local file edited after the manifest was built must not be pushed under its old hash:
// S3's SHA-256 checksum of what was stored (moto), the stored file (local registry), or at
// least the file's size tells, and the push stops with a hint to build again.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { PackageBuilder, Session } from "../../src/index.js";
import { uniquePrefix } from "../helpers/s3.js";
import {
  cleanupAll,
  newContext,
  rejection,
  tempRoot,
  usecaseEnv,
  writeTree,
} from "../helpers/usecase-support.js";

const env = usecaseEnv();
afterAll(cleanupAll);

async function builtThenEdited(registry: string, ctx: Session, label: string, edit: (src: string) => void) {
  const src = writeTree(tempRoot(label), { "a.txt": "first version\n", "b.txt": "untouched\n" });
  const b = new PackageBuilder(`${uniquePrefix(label)}/edited`, { registry, session: ctx, output: () => {} });
  await b.add(src, "");
  await b.buildManifest();
  edit(src);
  return b;
}

describe("pushing a file edited after the manifest was built", () => {
  it("on S3, a same-size edit is caught by the checksum S3 computed", async () => {
    const b = await builtThenEdited(env.registry, newContext(env.endpoint), "edit-s3", (src) =>
      writeFileSync(join(src, "a.txt"), "FIRST VERSION\n"),
    );
    const err = await rejection(b.pushData({ prefix: uniquePrefix("edit-s3-data") }));
    expect(err).toMatchObject({ code: "ESTALE" });
    expect(err.message).toMatch(
      /a\.txt changed after the manifest was built: the bytes uploaded for a\.txt do not match its hash/,
    );
    expect((err as { hint?: string }).hint).toMatch(/build the manifest again/);
    await expect(b.asPackage()).rejects.toThrow(/pointers to local files/);
  });

  it("on a local registry, a same-size edit is caught by hashing the stored file", async () => {
    const root = tempRoot("edit-local");
    const ctx = new Session({ cacheDir: join(root, "cache"), env: { HOME: root } });
    const b = await builtThenEdited(join(root, "registry"), ctx, "edit-local", (src) =>
      writeFileSync(join(src, "a.txt"), "FIRST VERSION\n"),
    );
    await expect(b.pushData()).rejects.toMatchObject({ code: "ESTALE" });
    await ctx.close();
  });

  it("after building again, the edited file pushes and reads back", async () => {
    let srcDir = "";
    const b = await builtThenEdited(env.registry, newContext(env.endpoint), "edit-rebuild", (src) => {
      srcDir = src;
      writeFileSync(join(src, "a.txt"), "a longer second version\n");
    });
    await expect(b.pushData({ prefix: uniquePrefix("edit-rebuild-data") })).rejects.toMatchObject({
      code: "ESTALE",
    });
    await b.set("a.txt", join(srcDir, "a.txt"));
    await b.buildManifest();
    const pushed = await b.pushData({ prefix: uniquePrefix("edit-rebuild-data2") });
    expect(pushed.find((p) => p.entry.logicalKey === "a.txt")?.outcome).toBe("uploaded");
    const pkg = await b.pushManifest({ tag: "v0" });
    expect(await pkg.getEntry("a.txt").getText()).toBe("a longer second version\n");
  });
});
