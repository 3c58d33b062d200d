// What the CLI says when the local filesystem refuses an install: never Node's raw
// "EEXIST: file already exists, mkdir 'x'", but what could not be done, where, and what
// to do, with the documented exit status (README, "Exit status"). And text taken from a
// manifest (a logical key with terminal escapes, a 10 KB key) reaches an error message
// escaped and bounded. A local-directory registry; nothing listens at the S3 endpoint.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PackageBuilder, Session } from "../../src/index.js";
import { exitCodeFor } from "../../src/cli/exit-codes.js";
import { runCli, type CliResult } from "../helpers/cli.js";
import { cleanupAll, tempRoot } from "../helpers/usecase-support.js";

const LONG_NAME = "n".repeat(300) + ".bin"; // one component over the 255 bytes Linux allows
const ESCAPES = "\u001b[31mred\u001b[0m\u0007"; // colour, reset, bell
const HUGE_KEY = `${ESCAPES}/${"k".repeat(10_000)}`;

let root = "";
let registry = "";
let env: Record<string, string> = {};

/** Publishes NAME:v1 with one entry per key (bytes from a local file), manifest only. */
async function publish(name: string, keys: string[]): Promise<void> {
  const context = new Session({ cacheDir: join(root, "publisher-cache") });
  try {
    const file = join(root, "payload.txt");
    writeFileSync(file, "payload\n");
    const b = new PackageBuilder(name, { registry, session: context });
    for (const key of keys) await b.set(key, file);
    await b.pushManifest({ tag: "v1", forceAllowLocalFiles: true });
  } finally {
    await context.close();
  }
}

function install(name: string, dest: string): Promise<CliResult> {
  return runCli(["install", `${name}:v1`, "--dest", dest], { env, cwd: root });
}

/** The error is ours: one "Error:" line naming `where`, a hint, no raw errno text, the documented status. */
function expectExplained(r: CliResult, status: number, where: string): void {
  expect(r.code, r.stderr).toBe(status);
  expect(r.stderr).toMatch(/^Error: Cannot [a-z ]+ /m);
  expect(r.stderr).toContain(where);
  expect(r.stderr).toMatch(/^hint: \S/m);
  expect(r.stderr).not.toMatch(/E[A-Z]{3,}: /); // "EEXIST: file already exists, ..."
  expect(r.stderr).not.toContain("--verbose for details");
}

beforeAll(async () => {
  root = tempRoot("cli-fs-errors");
  registry = join(root, "registry");
  env = {
    QUILT_REGISTRY: registry,
    QUILT_CACHE_DIR: join(root, "cli-cache"),
    QUILT_STATE_DIR: join(root, "state"),
    AWS_ENDPOINT_URL: "http://127.0.0.1:9",
    AWS_MAX_ATTEMPTS: "1",
  };
  await publish("fs/plain", ["a.txt", "sub/b.txt"]);
  await publish("fs/long", [`dir/${LONG_NAME}`]);
  await publish("fs/hostile", [HUGE_KEY]);
});

afterAll(cleanupAll);

describe("install into a destination the filesystem refuses", () => {
  it("a file where a directory of the destination must be (ENOTDIR, EEXIST)", async () => {
    writeFileSync(join(root, "blocker"), "a file");
    expectExplained(await install("fs/plain", "blocker/x"), exitCodeFor("EEXISTS"), "blocker/x");
    const onFile = await install("fs/plain", "blocker");
    expectExplained(onFile, exitCodeFor("EEXISTS"), "blocker");
    expect(onFile.stderr).toContain("already exists");
    // Inside the destination: a file where the package has a directory.
    mkdirSync(join(root, "dest"));
    writeFileSync(join(root, "dest", "sub"), "in the way");
    const inside = await install("fs/plain", "dest");
    expect(inside.code, inside.stderr).toBe(exitCodeFor("EEXISTS"));
    expect(inside.stderr).toContain(
      `${join("dest", "sub")} is a file, but the package needs a directory there`,
    );
    expect(inside.stderr).toMatch(/^hint: \S/m);
  });

  it("a directory where the package has a file: install refuses it, force-match replaces it", async () => {
    mkdirSync(join(root, "holes", "a.txt"), { recursive: true });
    const r = await install("fs/plain", "holes");
    expect(r.code, r.stderr).toBe(exitCodeFor("EEXISTS"));
    expect(r.stderr).toContain(`${join("holes", "a.txt")} is a directory, but the package has a file there`);
    expect(r.stderr).toMatch(/^hint: use force-match/m);
    const fixed = await runCli(["force-match", "holes"], { env, cwd: root });
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(readFileSync(join(root, "holes", "a.txt"), "utf8")).toBe("payload\n");
  });

  it("a logical key with a name too long for the filesystem (ENAMETOOLONG)", async () => {
    const r = await install("fs/long", "long");
    // It names the file (or its temporary twin) under the destination, cut to a bound.
    expectExplained(r, exitCodeFor("EBADKEY"), join("long", "dir") + "/");
    expect(r.stderr).toMatch(/n{100}.*more characters\): a name in the path is too long for this filesystem/);
  });

  it("a destination the operating system does not let root write (EPERM under /sys)", async () => {
    // Tests run as root, for whom EACCES never happens on an ordinary filesystem; sysfs
    // refuses a new directory to root too.
    const r = await install("fs/plain", "/sys/quilt-test-dest");
    expectExplained(r, exitCodeFor("EPERMISSION"), "/sys/quilt-test-dest");
  });

  it("a destination mkdir -p would loop on forever (/proc answers ENOENT with the parent there)", async () => {
    const r = await install("fs/plain", "/proc/quilt-test-dest/x");
    expectExplained(r, exitCodeFor("ENOTFOUND"), "/proc/quilt-test-dest");
  }, 20_000);
});

describe("push to a local registry the filesystem refuses", () => {
  it("a registry directory root may not create (EPERM under /sys): what, where, what to do", async () => {
    const ws = join(root, "ws");
    mkdirSync(ws);
    writeFileSync(join(ws, "f.txt"), "data\n");
    const registryEnv = { ...env, QUILT_REGISTRY: "/sys/quilt-test-registry" };
    for (const args of [
      ["init", "fs/ws"],
      ["add", "f.txt"],
    ])
      expect((await runCli(args, { env: registryEnv, cwd: ws })).code).toBe(0);
    const r = await runCli(["push", "--prefix", "data/v1", "-t", "v1"], { env: registryEnv, cwd: ws });
    expectExplained(r, exitCodeFor("EPERMISSION"), "/sys/quilt-test-registry");
  });
});

describe("text from a manifest in an error message", () => {
  it("a 10 KB logical key with terminal escapes is escaped and cut", async () => {
    const r = await install("fs/hostile", "hostile");
    expect(r.code).not.toBe(0);
    const [line] = r.stderr.split("\n").filter((l) => l.startsWith("Error: "));
    expect(line).toBeDefined();
    expect(line).toContain("\\u001b[31mred\\u001b[0m\\u0007"); // shown, not obeyed
    expect(r.stderr).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/); // eslint-disable-line no-control-regex
    expect((line as string).length).toBeLessThan(600);
    expect(line).toMatch(/more characters\)/);
  });

  it("a listing shows such a key whole with its escapes shown, not obeyed; --json keeps it exact", async () => {
    const ls = (...args: string[]) => runCli(["ls", "fs/hostile:v1", ...args], { env, cwd: root });
    const [top, inside, json] = await Promise.all([ls(), ls(`${ESCAPES}/`), ls(`${ESCAPES}/`, "--json")]);
    expect(top.code, top.stderr).toBe(0);
    expect(top.stdout).toContain("\\u001b[31mred\\u001b[0m\\u0007/");
    expect(inside.stdout).toContain("k".repeat(10_000)); // whole, not cut
    for (const r of [top, inside]) expect(r.stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/); // eslint-disable-line no-control-regex
    expect(json.stdout).toContain(JSON.stringify(HUGE_KEY).slice(1, -1));
  });
});
