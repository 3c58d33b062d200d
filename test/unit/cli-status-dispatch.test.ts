// `quilt status` dispatch: a directory with an install record shows the install, even inside
// a builder workspace; any other directory in a workspace shows the workspace; when there
// is neither, the command fails with exit 4 and a hint.
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { PackageBuilder, Session } from "../../src/index.js";
import { main } from "../../src/cli/main.js";
import type { Io } from "../../src/cli/context.js";
import { Workspace } from "../../src/cli/workspace.js";

const root = mkdtempSync(join(tmpdir(), "quilt-status-dispatch-"));
const env = { HOME: root, QUILT_NO_LOG_FILE: "1", QUILT_CACHE_DIR: join(root, "cli-cache") };
const ctx = new Session({ cacheDir: join(root, "cache") });
afterAll(() => ctx.close());

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
  it("an install record wins over the workspace around it; other directories in the workspace show the workspace; else exit 4", async () => {
    const registry = join(root, "registry");
    const src = mkdtempSync(join(root, "src-"));
    writeFileSync(join(src, "a.txt"), "a\n");
    const b = new PackageBuilder("team/data", { registry, session: ctx });
    await b.add(src, "");
    const pkg = await b.pushDataAndManifest({ prefix: "data/", tag: "v1" });
    const workspace = mkdtempSync(join(root, "ws-"));
    await Workspace.create(workspace, new PackageBuilder("team/draft", { registry, session: ctx }));
    const installed = join(workspace, "installed");
    await pkg.download(installed);

    const inst = await run(["status", installed]);
    expect(inst).toEqual({
      code: 0,
      out: `Package: team/data:v1 (${pkg.hash.slice(0, 9)})\nNo files have been changed\n`,
      err: "",
    });

    const below = join(workspace, "notes");
    mkdirSync(below);
    const ws = await run(["status", below]);
    expect(ws.code).toBe(0);
    expect(ws.out).toMatch(/^PackageBuilder: team\/draft \(pre-manifest\)\n/);

    const none = await run(["status", mkdtempSync(join(root, "none-"))]);
    expect(none.code).toBe(4);
    expect(none.err).toMatch(/holds no installed package and no builder workspace\nhint: /);
  });
});
