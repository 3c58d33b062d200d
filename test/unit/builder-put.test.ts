// What PackageBuilder refuses when entries are added: a key that is a directory of an
// entry already there, or one under a key that is a file; re-adding the same keys replaces
// them. (The check goes through parent directories, not every pair of keys.)
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { PackageBuilder, Session } from "../../src/index.js";

const root = mkdtempSync(join(tmpdir(), "builder-put-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function tree(): string {
  const dir = join(root, "d");
  mkdirSync(join(dir, "sub", "deep"), { recursive: true });
  writeFileSync(join(dir, "a.txt"), "a");
  writeFileSync(join(dir, "sub", "deep", "b.txt"), "b");
  return dir;
}

describe("PackageBuilder adds", () => {
  it("refuses a file where a directory is and a directory where a file is, and replaces same keys", async () => {
    const dir = tree();
    const ctx = new Session({ cacheDir: join(root, "cache"), env: { HOME: root } });
    const b = new PackageBuilder("ns/put", { registry: join(root, "registry"), session: ctx });
    await b.add(dir);
    expect(b.keys()).toEqual(["d/a.txt", "d/sub/deep/b.txt"]);
    const file = join(dir, "a.txt");
    await expect(b.set("d/sub", file)).rejects.toThrow(
      /Cannot add "d\/sub": "d\/sub\/deep\/b\.txt" is in the way/,
    );
    await expect(b.set("d/sub/deep", file)).rejects.toThrow(/"d\/sub\/deep\/b\.txt" is in the way/);
    await expect(b.set("d/a.txt/x", file)).rejects.toThrow(
      /Cannot add "d\/a\.txt\/x": "d\/a\.txt" is in the way/,
    );
    await expect(b.set("d/sub/deep/b.txt/c/e", file)).rejects.toThrow(/"d\/sub\/deep\/b\.txt" is in the way/);
    expect(b.keys()).toEqual(["d/a.txt", "d/sub/deep/b.txt"]);
    await b.add(dir);
    await b.set("d/sub/other", file);
    expect(b.keys()).toEqual(["d/a.txt", "d/sub/deep/b.txt", "d/sub/other"]);
    await ctx.close();
  });
});
