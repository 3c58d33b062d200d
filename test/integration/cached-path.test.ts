// PackageEntry.getCachedPath (quilt3's get_cached_path): after an install from this cache
// (the library's download or `quilt install`), an entry names its installed file; a file
// changed since, even at the same size with its mtime put back, is not offered, and nothing
// is offered for an entry that was never installed.
import { mkdirSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Package, PackageBuilder, Session } from "../../src/index.js";
import { runCli } from "../helpers/cli.js";
import { cleanupAll, tempRoot } from "../helpers/usecase-support.js";

afterAll(cleanupAll);

describe("getCachedPath", () => {
  it("names an installed file while it is unchanged, from the library and after quilt install", async () => {
    const root = tempRoot("cached-path");
    const registry = join(root, "registry");
    const cacheDir = join(root, "cache");
    const src = join(root, "src");
    const session = new Session({ cacheDir });
    try {
      mkdirSync(src, { recursive: true });
      writeFileSync(join(src, "a.txt"), "alpha\n");
      writeFileSync(join(src, "b.txt"), "bravo\n");
      const b = new PackageBuilder("cp/pkg", { registry, session });
      await b.add(src, "");
      await b.pushDataAndManifest({ prefix: "data" });

      const pkg = await Package.browse("cp/pkg", { registry, session });
      expect(await pkg.getEntry("a.txt").getCachedPath()).toBeUndefined();

      const dest = join(root, "installed");
      await pkg.download(dest);
      const a = join(dest, "a.txt");
      expect(await pkg.getEntry("a.txt").getCachedPath()).toBe(a);
      expect(readFileSync(a, "utf8")).toBe("alpha\n");

      // Rewritten at the same size with its mtime put back: ctime moved, so not offered.
      const before = statSync(a);
      writeFileSync(a, "ALPHA\n");
      utimesSync(a, before.atime, before.mtime);
      expect(await pkg.getEntry("a.txt").getCachedPath()).toBeUndefined();
      expect(await pkg.getEntry("b.txt").getCachedPath()).toBe(join(dest, "b.txt"));

      // `quilt install` with the same cache directory records its install too.
      const other = join(root, "cli-installed");
      const r = await runCli(["install", "cp/pkg", "--registry", registry, "--dest", other], {
        env: { QUILT_CACHE_DIR: cacheDir },
      });
      expect(r.code, r.stderr).toBe(0);
      expect(await pkg.getEntry("a.txt").getCachedPath()).toBe(join(other, "a.txt"));
    } finally {
      await session.close();
    }
  });
});
