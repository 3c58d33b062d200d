// shutdown(): what a command's end releases, registered by whoever started it (the hash
// pool, on its first use), so the CLI's exit path imports no hashing code of its own.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hashFiles } from "../../src/manifest/hash-pool.js";
import { onShutdown, shutdown } from "../../src/shutdown.js";

describe("shutdown", () => {
  it("runs each registered close once, in order, then forgets them", async () => {
    const ran: string[] = [];
    const a = async () => void ran.push("a");
    onShutdown(a);
    onShutdown(async () => void ran.push("b"));
    onShutdown(a);
    await shutdown();
    await shutdown();
    expect(ran).toEqual(["a", "b"]);
  });

  it("closes the hash pool a command started, and a later hash starts it again", async () => {
    const dir = mkdtempSync(join(tmpdir(), "quilt-shutdown-"));
    const paths = Array.from({ length: 8 }, (_, i) => join(dir, `f${i}`));
    for (const p of paths) writeFileSync(p, `file ${p}\n`);
    const first = await hashFiles(paths);
    const closed: string[] = [];
    onShutdown(async () => void closed.push("after the pool"));
    await shutdown();
    expect(closed).toEqual(["after the pool"]); // the pool's close ran before it, without failing
    expect(await hashFiles(paths)).toEqual(first);
    await shutdown();
  });
});
