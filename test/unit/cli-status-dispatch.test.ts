// `quilt status` dispatch: a directory with an install record shows the install; any other
// directory goes to the handlers other commands register (the builder workspace's), in
// order, until one takes it; when none does, the command fails with exit 4 and a hint.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { PackageBuilder, Session } from "../../src/index.js";
import { main } from "../../src/cli/main.js";
import type { Io } from "../../src/cli/context.js";
import { statusHandlers, type StatusHandler } from "../../src/cli/status-command.js";

const root = mkdtempSync(join(tmpdir(), "quilt-status-dispatch-"));
const env = { HOME: root, QUILT_NO_LOG_FILE: "1", QUILT_CACHE_DIR: join(root, "cli-cache") };
const ctx = new Session({ cacheDir: join(root, "cache") });
afterAll(() => ctx.close());
// Handlers registered by modules main.ts imports (the builder workspace's) are set aside.
let registered: StatusHandler[] = [];
beforeEach(() => {
  registered = statusHandlers.splice(0);
});
afterEach(() => {
  statusHandlers.splice(0, statusHandlers.length, ...registered);
});

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const io: Io = {
    out: (t) => void (out += t),
    err: (t) => void (err += t),
    outBytes: (b) => void (out += b.toString("latin1")),
    isTty: false,
  };
  const code = await main(argv, io, env);
  return { code, out, err };
}

describe("quilt status dispatch", () => {
  it("an installed directory shows the install and never reaches the handlers; others go to the first handler that takes them", async () => {
    const registry = join(root, "registry");
    const src = mkdtempSync(join(root, "src-"));
    writeFileSync(join(src, "a.txt"), "a\n");
    const b = new PackageBuilder("team/data", { registry, session: ctx });
    await b.add(src, "");
    const pkg = await b.pushDataAndManifest({ prefix: "data/", tag: "v1" });
    const installed = join(root, "installed");
    await pkg.download(installed);
    const workspace = mkdtempSync(join(root, "ws-"));

    const calls: string[] = [];
    const decline: StatusHandler = async (_ctx, dir) => {
      calls.push(`decline ${dir}`);
      return false;
    };
    const take: StatusHandler = async (c, dir) => {
      calls.push(`take ${dir}`);
      c.print(`PackageBuilder: team/data (pre-manifest)`, { kind: "workspace" });
      return true;
    };
    statusHandlers.push(decline, take);

    const inst = await run(["status", installed]);
    expect(inst).toEqual({
      code: 0,
      out: `Package: team/data:v1 (${pkg.hash.slice(0, 9)})\nNo files have been changed\n`,
      err: "",
    });
    expect(calls).toEqual([]);

    const ws = await run(["status", workspace]);
    expect(ws).toEqual({ code: 0, out: "PackageBuilder: team/data (pre-manifest)\n", err: "" });
    expect(calls).toEqual([`decline ${workspace}`, `take ${workspace}`]);

    statusHandlers.length = 0;
    statusHandlers.push(decline);
    const none = await run(["status", workspace]);
    expect(none.code).toBe(4);
    expect(none.err).toMatch(/holds no installed package and no builder workspace\nhint: /);
  });
});
