// Cache and state directories are private to their user (src/private-dir.ts): created 0700,
// default locations tightened when an older version left them open, named ones left alone.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makePrivateDir } from "../../src/private-dir.js";

const mode = (p: string) => statSync(p).mode & 0o777;

describe("makePrivateDir", () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "private-dir-"));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it("creates every missing level 0700, whatever the umask", async () => {
    const old = process.umask(0o022);
    try {
      await makePrivateDir(join(root, "a", "b"), { tighten: false });
    } finally {
      process.umask(old);
    }
    expect(mode(join(root, "a"))).toBe(0o700);
    expect(mode(join(root, "a", "b"))).toBe(0o700);
  });

  it("tightens an existing default directory, and leaves a named one as its owner set it", async () => {
    const open = join(root, "default");
    const shared = join(root, "shared");
    mkdirSync(open);
    mkdirSync(shared);
    chmodSync(open, 0o755);
    chmodSync(shared, 0o2770);
    await makePrivateDir(open, { tighten: true });
    await makePrivateDir(shared, { tighten: false });
    expect(mode(open)).toBe(0o700);
    expect(statSync(shared).mode & 0o7777).toBe(0o2770);
  });
});
