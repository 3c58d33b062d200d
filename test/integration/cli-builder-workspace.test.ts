// What keeps a builder workspace safe and its commands predictable, with no S3 server
// (the endpoint points at a closed port): the state file replaced atomically (temp +
// rename, leftovers ignored, a failed command saves nothing), a damaged state refused
// clearly, the workspace's own .quilt/ never in a package, init refused where it would mix
// with other state; every command's --help; usage errors exit 2 with a hint; outside a
// workspace every command says so.
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CommandContext, processIo } from "../../src/cli/context.js";
import { Workspace } from "../../src/cli/workspace.js";
import { CliSession } from "../helpers/cli-builder.js";
import { runCli } from "../helpers/cli.js";
import { pseudoRandomBytes } from "../helpers/package-fixtures.js";
import { cleanupAll, tempRoot, writeTree } from "../helpers/usecase-support.js";

afterAll(cleanupAll);

/** No server: S3 calls would go to a closed port and fail. */
const NO_S3 = {
  AWS_ENDPOINT_URL: "http://127.0.0.1:9",
  AWS_ACCESS_KEY_ID: "none",
  AWS_SECRET_ACCESS_KEY: "none",
  AWS_REGION: "us-east-1",
};

function setup(label: string): { ws: string; registry: string; q: CliSession } {
  const root = tempRoot(label);
  writeTree(root, {
    "ws/train2017/1.jpg": pseudoRandomBytes(300, `${label}-1`),
    "ws/train2017/2.jpg": pseudoRandomBytes(400, `${label}-2`),
    "ws/train2017/3.jpg": pseudoRandomBytes(500, `${label}-3`),
  });
  const ws = join(root, "ws");
  return { ws, registry: join(root, "registry"), q: new CliSession(ws, NO_S3) };
}

describe("builder workspace state", () => {
  it("a workspace's own .quilt/ is never added, even from a directory above it", async () => {
    const root = tempRoot("local-self");
    writeTree(root, { "outer/ws/a.txt": "a", "outer/b.txt": "b" });
    const q = new CliSession(join(root, "outer", "ws"), NO_S3);
    await q.ok("init", "self/pkg", "--registry", join(root, "registry"));
    await q.ok("add", ".");
    // --json lists what was added (the workspace's own state left out); text mode only counts.
    const json = await q.run("add", "..", "all/", "--json");
    expect(json.code).toBe(0);
    const added = (JSON.parse(json.stdout) as { added: { logicalKey: string; source: string }[] }).added;
    expect(added.map((e) => e.logicalKey).sort()).toEqual(["all/b.txt", "all/ws/a.txt"]);
    expect(added.find((e) => e.logicalKey === "all/b.txt")?.source).toMatch(/^file:\/\/.*\/outer\/b\.txt$/);
    const r = await q.run("status", "--json");
    expect(r.code).toBe(0); // not pushed yet is not a difference
    const keys = (JSON.parse(r.stdout) as { entries: { logicalKey: string }[] }).entries
      .map((e) => e.logicalKey)
      .sort();
    expect(keys).toEqual(["a.txt", "all/b.txt", "all/ws/a.txt"]);
    const own = await q.run("add", ".quilt/workspace.json");
    expect(own.code).toBe(2);
    expect(own.stderr).toMatch(/is the workspace's own state/);
  });

  it("the state file is replaced atomically; leftovers are ignored; damage is reported", async () => {
    const { ws, registry, q } = setup("local-state");
    await q.ok("init", "state/pkg", "--registry", registry);
    const stateDir = join(ws, ".quilt");
    const state = join(stateDir, "workspace.json");
    const ino1 = statSync(state).ino;
    // A crash while writing leaves a partial temporary file: it is never read...
    const partial = join(stateDir, ".workspace.json.0123456789ab.tmp");
    writeFileSync(partial, '{"format": "quilt-workspace/1", "generation": 99, "builder": {"form');
    await q.ok("add", "train2017/");
    // ...and the state was replaced by rename (a new inode), never rewritten in place.
    const ino2 = statSync(state).ino;
    expect(ino2).not.toBe(ino1);
    expect(JSON.parse(readFileSync(state, "utf8"))).toMatchObject({
      format: "quilt-workspace/1",
      generation: 2,
    });
    expect(existsSync(partial)).toBe(true); // recent: it could belong to a command still running
    const old = (Date.now() - 2 * 3600_000) / 1000;
    utimesSync(partial, old, old);
    expect((await q.status()).data).toEqual([["train2017/", "./train2017/"]]);
    await q.ok("rm", "train2017/3.jpg");
    expect(readdirSync(stateDir).sort()).toEqual(["workspace.json"]); // an old leftover is cleaned up

    // A failed command saves nothing.
    const before = readFileSync(state, "utf8");
    expect((await q.run("add", "missing/")).code).toBe(4);
    expect((await q.run("mv", "nothing/", "x/")).code).toBe(4);
    expect(readFileSync(state, "utf8")).toBe(before);

    // A damaged state file is refused with the path and what to do.
    writeFileSync(state, before.slice(0, before.length / 2));
    const damaged = await q.run("status");
    expect(damaged.code).toBe(5);
    expect(damaged.stderr).toMatch(
      new RegExp(`^Error: ${stateDir}/workspace\\.json is not a valid workspace state: .*\\nhint: `),
    );
    expect(damaged.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it("a save refuses to overwrite a state that another command saved meanwhile", async () => {
    const { ws, registry, q } = setup("local-race");
    await q.ok("init", "race/pkg", "--registry", registry);
    const ctx = new CommandContext(processIo, NO_S3);
    await ctx.loadSession();
    try {
      const mine = await Workspace.open(ws, () => {}, ctx);
      await q.ok("add", "train2017/"); // another command, while "mine" is running
      mine.builder.setMessage("mine");
      await expect(mine.save()).rejects.toMatchObject({
        code: "ESTALE",
        message: expect.stringMatching(/changed by another quilt command/) as unknown,
      });
      expect((await q.status()).data).toEqual([["train2017/", "./train2017/"]]); // theirs is kept
    } finally {
      await ctx.close();
    }
  });

  it("init is refused inside a workspace, in an installed package and at a registry root", async () => {
    const root = tempRoot("local-init");
    mkdirSync(join(root, "ws", "sub"), { recursive: true });
    const q = new CliSession(join(root, "ws"), NO_S3);
    await q.ok("init", "a/b", "--registry", join(root, "registry"));
    for (const cwd of [join(root, "ws"), join(root, "ws", "sub")]) {
      const again = await runCli(["init", "c/d"], { cwd, env: NO_S3 });
      expect(again.code).toBe(2);
      expect(again.stderr).toMatch(
        new RegExp(`^Error: Already in a quilt workspace: ${root}/ws/\\.quilt/workspace\\.json\\nhint: `),
      );
    }
    writeTree(root, { "installed/.quilt/installed.json": "{}", "installed/data/x.csv": "1" });
    const installed = await runCli(["init", "c/d"], { cwd: join(root, "installed", "data"), env: NO_S3 });
    expect(installed.code).toBe(2);
    expect(installed.stderr).toMatch(/holds an installed package[\s\S]*hint: /);
    writeTree(root, { "registry/.quilt/packages/.keep": "" });
    const inRegistry = await runCli(["init", "c/d"], { cwd: join(root, "registry"), env: NO_S3 });
    expect(inRegistry.code).toBe(2);
    expect(inRegistry.stderr).toMatch(/is the root of a local registry/);
    const badName = await runCli(["init", "not a name"], { cwd: root, env: NO_S3 });
    expect(badName.code).toBe(2);
    expect(badName.stderr).toMatch(/^Error: Invalid package name "not a name"\nhint: /);
  });
});

const BUILDER_COMMANDS = [
  "init",
  "add",
  "set",
  "set-meta",
  "mv",
  "rm",
  "build-manifest",
  "push-data",
  "push-manifest",
  "push",
];

describe("builder commands: help, usage errors, outside a workspace", () => {
  it("every command's --help runs, with a purpose and an example", async () => {
    const top = await runCli(["--help"]);
    expect(top.code).toBe(0);
    for (const c of BUILDER_COMMANDS) expect(top.stdout).toMatch(new RegExp(`quilt ${c}\\b`));
    const helps = await Promise.all(BUILDER_COMMANDS.map((c) => runCli([c, "--help"])));
    helps.forEach((r, i) => {
      expect(r.code, BUILDER_COMMANDS[i]).toBe(0);
      expect(r.stdout, BUILDER_COMMANDS[i]).toMatch(/Examples:/);
    });
    expect(helps[1]?.stdout).toMatch(/second is chosen when the first argument ends with "\/"/);
  });

  it("a wrong argument exits 2 with the usage line and a hint", async () => {
    const cwd = tempRoot("local-usage");
    for (const args of [
      ["add"],
      ["set", "only-key"],
      ["push-manifest", "unexpected"],
      ["push-data", "--bogus"],
      ["mv", "a"],
      ["init"],
    ]) {
      const r = await runCli(args, { cwd, env: NO_S3 });
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr, args.join(" ")).toMatch(new RegExp(`^Usage: quilt ${args[0]}[\\s\\S]*\\nhint: `));
    }
    const badTag = await runCli(["push-manifest", "-t", "no spaces"], { cwd, env: NO_S3 });
    expect(badTag.code).toBe(2);
    expect(badTag.stderr).toMatch(/^Error: Invalid tag "no spaces"\nhint: /);
  });

  it("outside a workspace, each command says so and hints at quilt init", async () => {
    const cwd = tempRoot("local-outside");
    const cases = [
      ["add", "x"],
      ["set", "k", "x"],
      ["set-meta", ".", "{}"],
      ["mv", "a/", "b/"],
      ["rm", "k"],
      ["build-manifest"],
      ["push-data"],
      ["push-manifest"],
      ["push"],
    ];
    const results = await Promise.all(cases.map((args) => runCli(args, { cwd, env: NO_S3 })));
    results.forEach((r, i) => {
      const what = (cases[i] as string[]).join(" ");
      expect(r.code, what).toBe(4);
      expect(r.stderr, what).toMatch(
        /^Error: Not in a quilt workspace: no \.quilt\/workspace\.json here or in any parent directory\nhint: run `quilt init NAME`/,
      );
    });
  });
});
