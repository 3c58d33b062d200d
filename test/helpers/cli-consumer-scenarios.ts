// The consumer commands of the CLI (install, status, hash, verify, force-match, ls, cat,
// readme, meta, list, log, diff, tag) replayed through the real executable against one
// registry. The same suite runs against the moto server and against a local directory
// registry with no server at all (see the two cli-consumer*.test.ts files).
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { Package, PackageBuilder, type Session } from "../../src/index.js";
import { runCli, type CliResult } from "./cli.js";
import { REPO_ROOT } from "./moto-server.js";
import { pseudoRandomBytes } from "./package-fixtures.js";
import { uniquePrefix } from "./s3.js";
import { re, tempRoot, writeTree } from "./usecase-support.js";

export interface ConsumerSetup {
  /** Registry URL or directory, as users give it. */
  registry: string;
  /** What the registry URL prints as in messages ("s3://bucket", "file:///dir"). */
  registryUrl: string;
  /** Environment of the CLI processes (credentials, endpoint, QUILT_REGISTRY...). */
  env: Record<string, string>;
  /** A library context for publishing fixtures. */
  context: Session;
  /** True when the registry holds only this suite's packages. */
  exclusive: boolean;
}

export const INC_TAG = "removed_some_items_changed_one_item";

/** Every byte value, then pseudo-random bytes: a file that text decoding would corrupt. */
export const BINARY = Buffer.concat([
  Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
  pseudoRandomBytes(5000, "cli-binary"),
]);
const README = "# Dataset\n\nHere is some info about our dataset...\n";
/** Beyond 2^53: must print exactly, not rounded. */
const BIG = 12345678901234567890n;
/** The bytes of v0's four files as the install summary prints them. */
const V0_KIB = ((Buffer.byteLength(README) + 8 + BINARY.length + 5) / 1024).toFixed(1);

/** Bytes on stdout (binary-safe), for `quilt cat`. */
export function runCliBytes(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(REPO_ROOT, "bin", "quilt.js"), ...args],
      { env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024, encoding: "buffer" },
      (err, stdout, stderr) =>
        resolve({
          code: err ? (typeof err.code === "number" ? err.code : 1) : 0,
          stdout,
          stderr: stderr.toString("utf8"),
        }),
    );
  });
}

/** A failure shown to the user: `Error:` and `hint:` lines, never a stack trace. */
function expectHintedError(r: CliResult, code: number, message: RegExp): void {
  expect(r.code, r.stderr).toBe(code);
  expect(r.stderr).toMatch(message);
  expect(r.stderr).toMatch(/^hint: \S/m);
  expect(r.stderr).not.toMatch(/^\s+at /m);
}

function lines(text: string): string[] {
  return text.replace(/\n$/, "").split("\n");
}

/** Every consumer command, as its usage line starts. */
export const CONSUMER_COMMANDS = [
  "install",
  "status",
  "verify",
  "force-match",
  "ls",
  "cat",
  "readme",
  "meta",
  "list",
  "log",
  "diff",
  "tag",
];

/**
 * `usageChecks`: also check --help and bad usage, which do not depend on the registry (one
 * suite is enough for those; each spawn of the CLI costs about 0.3 s).
 */
export function consumerCliSuite(
  label: string,
  makeSetup: () => Promise<ConsumerSetup> | ConsumerSetup,
  opts: { usageChecks: boolean },
): void {
  describe(`quilt consumer commands (${label})`, () => {
    let s: ConsumerSetup;
    let ns: string;
    let dataset: string;
    let v0: Package;
    let v1: Package;
    let inc: string;
    let incNew: Package;
    const cli = (args: string[], cwd?: string) =>
      runCli(args, { env: s.env, ...(cwd !== undefined && { cwd }) });

    beforeAll(async () => {
      s = await makeSetup();
      ns = uniquePrefix("cliC");
      dataset = `${ns}/dataset`;
      inc = `${ns}/inc`;
      const root = tempRoot("cli-fixtures");
      const src = writeTree(join(root, "v0"), {
        "README.md": README,
        "cats/file1.txt": "cat one\n",
        "cats/tabby/img.bin": BINARY,
        "dogs/d.txt": "woof\n",
      });
      const b = new PackageBuilder(dataset, { registry: s.registry, session: s.context });
      await b.add(src, "");
      b.setMeta("", { source: "fixture", count: BIG });
      b.setMeta("cats/file1.txt", { color: "gray" });
      v0 = await b.pushDataAndManifest({ prefix: `${ns}-data/dataset/v0/`, tag: "v0" });
      // An older timestamp for v0, so `log` has an order that does not depend on the clock's second.
      await s.context
        .registry(v0.registry)
        .pushManifest(dataset, v0.manifest, { now: new Date("2020-01-02T03:04:05Z") });
      const nb = v0.asPackageBuilder();
      writeTree(root, { "README-v1.md": "# Dataset v1\n", "new.txt": "new\n" });
      nb.delete("dogs/d.txt");
      await nb.set("README.md", join(root, "README-v1.md"));
      await nb.set("new.txt", join(root, "new.txt"));
      nb.setMeta("cats/file1.txt", { color: "black" });
      v1 = await nb.pushDataAndManifest({ prefix: `${ns}-data/dataset/v1/`, tag: "v1" });

      // USECASES.md "Incremental Download": the new version drops file1 and file2 and changes file3.
      const incSrc = writeTree(join(root, "inc"), {
        "file1.txt": "one\n",
        "file2.txt": "two two\n",
        "file3.txt": "three three three\n",
      });
      writeTree(root, { "new_file3.txt": "three, corrected: more bytes\n" });
      const ib = new PackageBuilder(inc, { registry: s.registry, session: s.context });
      await ib.add(incSrc, "");
      const old = await ib.pushDataAndManifest({ prefix: `${ns}-data/inc/v0/`, tag: "old" });
      const inb = old.asPackageBuilder();
      inb.delete("file1.txt").delete("file2.txt");
      await inb.set("file3.txt", join(root, "new_file3.txt"));
      incNew = await inb.pushDataAndManifest({ prefix: `${ns}-data/inc/v1/`, tag: INC_TAG });
    });

    it("Download: install → status 'No files have been changed' → hash; incremental re-install; status of a changed directory", async () => {
      const cwd = tempRoot("cli-download");
      const install = await cli(["install", `${dataset}:v0`, "--location", "./dataset"], cwd);
      expect(install.code, install.stderr).toBe(0);
      expect(lines(install.stdout)).toEqual([
        `Installing Package ${dataset}:v0 to ./dataset/...`,
        `Installed ${dataset}:v0 (${v0.hash.slice(0, 9)}): 4 files fetched (${V0_KIB} KiB), 0 unchanged`,
      ]);
      expect(install.stderr).not.toMatch(/Error/);
      expect(readFileSync(join(cwd, "dataset", "cats", "tabby", "img.bin")).equals(BINARY)).toBe(true);
      expect(readFileSync(join(cwd, "dataset", "README.md"), "utf8")).toBe(README);

      const elsewhere = join(cwd, "elsewhere");
      mkdirSync(elsewhere);
      const [status, hash, statusJson, again, defaultDest] = await Promise.all([
        cli(["status", "./dataset"], cwd),
        cli(["hash", "./dataset"], cwd),
        cli(["status", "./dataset", "--json"], cwd),
        cli(["install", `${dataset}:v0`, "--dest", "./dataset", "--json"], cwd),
        cli(["install", `${dataset}:v0`], elsewhere),
      ]);
      expect(status).toEqual({
        code: 0,
        stdout: `Package: ${dataset}:v0 (${v0.hash.slice(0, 9)})\nNo files have been changed\n`,
        stderr: "",
      });
      expect(hash).toEqual({ code: 0, stdout: `${v0.hash}\n`, stderr: "" });
      expect(JSON.parse(statusJson.stdout)).toEqual({
        kind: "installed",
        dir: "./dataset",
        registry: s.registryUrl,
        name: dataset,
        tag: "v0",
        topHash: v0.hash,
        ok: true,
        changed: [],
        missing: [],
        extra: [],
      });
      // Nothing to fetch the second time; one JSON document and nothing else on stdout.
      expect(again.code).toBe(0);
      expect(JSON.parse(again.stdout)).toEqual({
        name: dataset,
        tag: "v0",
        topHash: v0.hash,
        dest: join(cwd, "dataset"),
        fetched: 0,
        unchanged: 4,
        bytesFetched: 0,
      });
      // Without --dest: ./<name>.
      expect(defaultDest.code, defaultDest.stderr).toBe(0);
      expect(defaultDest.stdout).toMatch(/^Installing Package .* to \.\/dataset\/\.\.\.\n/);
      expect(readFileSync(join(cwd, "elsewhere", "dataset", "dogs", "d.txt"), "utf8")).toBe("woof\n");

      // Change one file, delete one, add one: status lists each and exits 1.
      writeFileSync(join(cwd, "dataset", "cats", "file1.txt"), "a different cat\n");
      rmSync(join(cwd, "dataset", "dogs", "d.txt"));
      writeFileSync(join(cwd, "dataset", "mine.txt"), "local notes\n");
      const [changed, changedJson] = await Promise.all([
        cli(["status", "dataset"], cwd),
        cli(["status", "dataset", "--json"], cwd),
      ]);
      expect(changed.code).toBe(1);
      expect(lines(changed.stdout)).toEqual([
        `Package: ${dataset}:v0 (${v0.hash.slice(0, 9)})`,
        "Files that differ from the package:",
        "  changed: cats/file1.txt",
        "  missing: dogs/d.txt",
        "  extra:   mine.txt",
        "Restore the package's files with `quilt force-match dataset`",
      ]);
      expect(changedJson.code).toBe(1);
      expect(JSON.parse(changedJson.stdout)).toMatchObject({
        ok: false,
        changed: ["cats/file1.txt"],
        missing: ["dogs/d.txt"],
        extra: ["mine.txt"],
      });
    });

    it("install --path fetches only the selected keys; an unknown --path is refused before anything is written", async () => {
      const cwd = tempRoot("cli-paths");
      const [part, bad] = await Promise.all([
        cli(
          ["install", `${dataset}:v0`, "--dest", "part", "--path", "cats/", "--path", "README.md", "--json"],
          cwd,
        ),
        cli(["install", `${dataset}:v0`, "--dest", "bad", "--path", "nope/"], cwd),
      ]);
      expect(part.code, part.stderr).toBe(0);
      expect(JSON.parse(part.stdout)).toMatchObject({
        fetched: 3,
        unchanged: 0,
        bytesFetched: Buffer.byteLength(README) + 8 + BINARY.length,
      });
      expect(existsSync(join(cwd, "part", "cats", "tabby", "img.bin"))).toBe(true);
      expect(existsSync(join(cwd, "part", "dogs"))).toBe(false);
      // A partial install is checked on what it installed: nothing else counts as missing.
      const [status, verify] = await Promise.all([
        cli(["status", "part"], cwd),
        cli(["verify", "part"], cwd),
      ]);
      expect(status.code, status.stdout + status.stderr).toBe(0);
      expect(status.stdout).toMatch(/No files have been changed/);
      expect(verify.code, verify.stdout + verify.stderr).toBe(0);
      expectHintedError(
        bad,
        4,
        /^Error: No entry or directory "nope\/" in .*:v0\nhint: `quilt ls .*` lists what the package holds/,
      );
      expect(existsSync(join(cwd, "bad"))).toBe(false);
    });

    it("Incremental Download: verify lists each difference (exit 1), force-match prints each change, then verify exits 0", async () => {
      const cwd = tempRoot("cli-inc");
      const label = `${inc}:${INC_TAG}`;
      expect((await cli(["install", `${inc}:old`, "--dest", "./dataset"], cwd)).code).toBe(0);
      expect((await cli(["install", `${inc}:old`, "--dest", "./second"], cwd)).code).toBe(0);

      // The use case: the directory holds the old version; compared with the new one.
      const verify = await cli(["verify", "./dataset", "--package", label], cwd);
      expect(verify.code).toBe(1);
      expect(lines(verify.stdout)).toEqual([
        `./dataset/file1.txt exists locally, but does not exist in the manifest ${label}`,
        `./dataset/file2.txt exists locally, but does not exist in the manifest ${label}`,
        `./dataset/file3.txt exists locally, but contents do not match manifest ${label}`,
        `This can be fixed by calling quilt force-match ./dataset --package ${label}`,
      ]);
      const force = await cli(["force-match", "./dataset", "--package", label], cwd);
      expect(force.code, force.stderr).toBe(0);
      expect(lines(force.stdout)).toEqual([
        "Changes:",
        "  ./dataset/file1.txt removed",
        "  ./dataset/file2.txt removed",
        `  ./dataset/file3.txt replaced with ${incNew.getEntry("file3.txt").physicalKey}`,
      ]);
      expect(readFileSync(join(cwd, "dataset", "file3.txt"), "utf8")).toBe("three, corrected: more bytes\n");
      // force-match recorded the new version: verify and status now name it.
      const [after, status, again] = await Promise.all([
        cli(["verify", "./dataset"], cwd),
        cli(["status", "./dataset"], cwd),
        cli(["force-match", "./dataset"], cwd),
      ]);
      expect(after).toEqual({ code: 0, stdout: `./dataset matches manifest ${label}\n`, stderr: "" });
      expect(status.stdout).toBe(
        `Package: ${label} (${incNew.hash.slice(0, 9)})\nNo files have been changed\n`,
      );
      expect(again.stdout).toBe(
        `No changes: ./dataset already matches ${label} (${incNew.hash.slice(0, 9)})\n`,
      );

      // The CLI way: install the new version over the old (fetches only file3), verify, force-match.
      const update = await cli(["install", label, "--dest", "./second"], cwd);
      expect(lines(update.stdout)[1]).toBe(
        `Installed ${label} (${incNew.hash.slice(0, 9)}): 1 file fetched (29 B), 0 unchanged`,
      );
      const [v, vJson, vOk] = await Promise.all([
        cli(["verify", "./second"], cwd),
        cli(["verify", "./second", "--json"], cwd),
        cli(["verify", "./second", "--extra-files-ok"], cwd),
      ]);
      expect(v.code).toBe(1);
      expect(lines(v.stdout)).toEqual([
        `./second/file1.txt exists locally, but does not exist in the manifest ${label}`,
        `./second/file2.txt exists locally, but does not exist in the manifest ${label}`,
        "This can be fixed by calling quilt force-match ./second",
      ]);
      expect(vJson.code).toBe(1);
      expect(JSON.parse(vJson.stdout)).toEqual({
        dir: "./second",
        registry: s.registryUrl,
        name: inc,
        tag: INC_TAG,
        topHash: incNew.hash,
        ok: false,
        missing: [],
        extra: ["file1.txt", "file2.txt"],
        modified: [],
        hashed: 0,
      });
      expect(vOk.code).toBe(0);
      const fm = await cli(["force-match", "./second", "--json"], cwd);
      expect(JSON.parse(fm.stdout)).toMatchObject({
        name: inc,
        tag: INC_TAG,
        topHash: incNew.hash,
        changes: [
          { kind: "removed", key: "file1.txt" },
          { kind: "removed", key: "file2.txt" },
        ],
      });
      // --deep hashes every file instead of trusting the install's stat records.
      const [shallow, deep] = await Promise.all([
        cli(["verify", "./second", "--json"], cwd),
        cli(["verify", "./second", "--json", "--deep"], cwd),
      ]);
      expect(JSON.parse(shallow.stdout)).toMatchObject({ ok: true, hashed: 0 });
      expect(JSON.parse(deep.stdout)).toMatchObject({ ok: true, hashed: 1 });
      expect(shallow.code + deep.code).toBe(0);
    });

    it("Explore: ls, cat (binary bytes intact), readme, meta, with --json documents", async () => {
      const d0 = `${dataset}:v0`;
      const [top, cats, file, lsJson, cat, readme, readmeJson, meta, metaJson, entryMeta] = await Promise.all(
        [
          cli(["ls", d0]),
          cli(["ls", d0, "cats/"]),
          cli(["ls", d0, "cats/file1.txt"]),
          cli(["ls", d0, "cats", "--json"]),
          runCliBytes(["cat", d0, "cats/tabby/img.bin"], s.env),
          cli(["readme", dataset]),
          cli(["readme", d0, "--json"]),
          cli(["meta", d0]),
          cli(["meta", d0, "--json"]),
          cli(["meta", d0, "cats/file1.txt"]),
        ],
      );
      expect(top).toEqual({ code: 0, stdout: "README.md\ncats/\ndogs/\n", stderr: "" });
      expect(cats.stdout).toBe("cats/file1.txt\ncats/tabby/\n");
      expect(file.stdout).toBe("cats/file1.txt\n");
      const listing = JSON.parse(lsJson.stdout) as { name: string; topHash: string; entries: unknown[] };
      expect(listing).toMatchObject({ name: dataset, tag: "v0", topHash: v0.hash, prefix: "cats" });
      expect(listing.entries).toEqual([
        {
          key: "cats/file1.txt",
          type: "file",
          size: 8,
          hash: v0.getEntry("cats/file1.txt").hash,
          physicalKey: v0.getEntry("cats/file1.txt").physicalKey,
        },
        { key: "cats/tabby/", type: "dir", size: BINARY.length, files: 1 },
      ]);
      expect(cat.code, cat.stderr).toBe(0);
      expect(cat.stdout.equals(BINARY)).toBe(true);
      expect(readme).toEqual({ code: 0, stdout: "# Dataset v1\n", stderr: "" }); // latest is v1
      expect(JSON.parse(readmeJson.stdout)).toMatchObject({
        name: dataset,
        topHash: v0.hash,
        readme: README,
      });
      expect(meta.stdout).toBe(`{\n  "source": "fixture",\n  "count": ${BIG}\n}\n`);
      expect(metaJson.stdout).toBe(`{"source":"fixture","count":${BIG}}\n`);
      expect(entryMeta.stdout).toBe('{\n  "color": "gray"\n}\n');
    });

    it("list, log, diff and tag", async () => {
      const [list, listJson, log, logJson, diff, diffJson, same] = await Promise.all([
        cli(["list"]),
        cli(["list", "--json"]),
        cli(["log", dataset]),
        cli(["log", dataset, "--json"]),
        cli(["diff", `${dataset}:v0`, `${dataset}:v1`]),
        cli(["diff", `${dataset}:v0`, `${dataset}@${v1.hash.slice(0, 12)}`, "--json"]),
        cli(["diff", `${dataset}:v1`, dataset]),
      ]);
      expect(list.code).toBe(0);
      const mine = lines(list.stdout).filter((n) => n.startsWith(`${ns}/`));
      expect(mine).toEqual([dataset, inc]);
      if (s.exclusive) expect(list.stdout).toBe(`${dataset}\n${inc}\n`);
      expect(JSON.parse(listJson.stdout)).toMatchObject({
        registry: s.registryUrl,
        packages: expect.arrayContaining([dataset, inc]),
      });

      const logLines = lines(log.stdout);
      expect(logLines).toHaveLength(2);
      expect(logLines[0]).toMatch(
        new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ  ${v1.hash}  latest, v1$`),
      );
      expect(logLines[1]).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ  ${v0.hash}  v0$`));
      const logDoc = JSON.parse(logJson.stdout) as {
        versions: { topHash: string; time: string; tags: string[] }[];
      };
      expect(logDoc).toMatchObject({ registry: s.registryUrl, name: dataset });
      expect(logDoc.versions.map((v) => [v.topHash, v.tags])).toEqual([
        [v1.hash, ["latest", "v1"]],
        [v0.hash, ["v0"]],
      ]);
      expect(Date.parse(logDoc.versions[0]?.time ?? "")).toBeGreaterThan(
        Date.parse(logDoc.versions[1]?.time ?? ""),
      );

      expect(diff.code).toBe(0);
      expect(lines(diff.stdout)).toEqual([
        `From: ${dataset}:v0 (${v0.hash.slice(0, 9)})`,
        `To:   ${dataset}:v1 (${v1.hash.slice(0, 9)})`,
        "  added:    new.txt",
        "  removed:  dogs/d.txt",
        "  modified: README.md",
        "  metadata: cats/file1.txt",
      ]);
      expect(JSON.parse(diffJson.stdout)).toEqual({
        from: { registry: s.registryUrl, name: dataset, tag: "v0", topHash: v0.hash },
        to: { registry: s.registryUrl, name: dataset, tag: null, topHash: v1.hash },
        added: ["new.txt"],
        removed: ["dogs/d.txt"],
        modified: ["README.md"],
        metadataChanged: ["cats/file1.txt"],
        packageMetadataChanged: false,
      });
      expect(same.stdout).toMatch(/\nSame version\n$/);

      // Tag the old version, by hash prefix; the tag then names it everywhere.
      const tag = await cli(["tag", `${dataset}@${v0.hash.slice(0, 10)}`, "stable", "--json"]);
      expect(tag.code, tag.stderr).toBe(0);
      expect(JSON.parse(tag.stdout)).toEqual({
        registry: s.registryUrl,
        name: dataset,
        tag: "stable",
        topHash: v0.hash,
      });
      const human = await cli(["tag", `${dataset}:v1`, "prod"]);
      const [readmeStable, logAfter] = await Promise.all([
        cli(["readme", `${dataset}:stable`]),
        cli(["log", dataset]),
      ]);
      expect(human.stdout).toBe(`Tagged ${dataset}@${v1.hash.slice(0, 9)} as ${dataset}:prod\n`);
      expect(readmeStable.stdout).toBe(README);
      expect(lines(logAfter.stdout)[0]).toMatch(new RegExp(`  ${v1.hash}  latest, prod, v1$`));
      expect(lines(logAfter.stdout)[1]).toMatch(new RegExp(`  ${v0.hash}  stable, v0$`));
    });

    it("errors: unknown packages, tags and entries exit 4 with a hint and no stack trace (unless --verbose)", async () => {
      const empty = tempRoot("cli-empty");
      const [unknownPkg, unknownLs, unknownLog, unknownTag, noEntry, verbose] = await Promise.all([
        cli(["install", `${ns}/nope`, "--dest", join(empty, "x")]),
        cli(["ls", `${ns}/nope`]),
        cli(["log", `${ns}/nope`]),
        cli(["readme", `${dataset}:nosuchtag`]),
        cli(["cat", dataset, "cats/nope.txt"]),
        cli(["ls", `${ns}/nope`, "--verbose"]),
      ]);
      expectHintedError(
        unknownPkg,
        4,
        new RegExp(`^Error: No package ${re(ns)}/nope in registry ${re(s.registryUrl)}\nhint: .*quilt list`),
      );
      expect(existsSync(join(empty, "x"))).toBe(false);
      expectHintedError(unknownLs, 4, /No package/);
      expectHintedError(unknownLog, 4, /No package/);
      expectHintedError(unknownTag, 4, /^Error: Unknown tag "nosuchtag"[^\n]*\nhint: known tags: .*v0/);
      expectHintedError(noEntry, 4, /^Error: No entry "cats\/nope.txt" in .*\nhint: `quilt ls /);
      expect(verbose.code).toBe(4);
      expect(verbose.stderr).toMatch(/^\s+at /m);
    });

    it.runIf(opts.usageChecks)(
      "every command's --help exits 0 with an example; wrong arguments exit 2 with the usage line and a hint; a directory without an install is refused",
      async () => {
        const helps = await Promise.all(CONSUMER_COMMANDS.map((c) => cli([c, "--help"])));
        helps.forEach((r, i) => {
          expect(r.code, CONSUMER_COMMANDS[i]).toBe(0);
          expect(r.stdout).toMatch(new RegExp(`^quilt ${re(CONSUMER_COMMANDS[i] ?? "")}\\b[^\\n]*\\n\\n\\S`));
          expect(r.stdout).toMatch(/\nExamples:\n {2}quilt /);
        });
        const top = await cli(["--help"]);
        for (const c of CONSUMER_COMMANDS) expect(top.stdout).toMatch(new RegExp(`\\n  quilt ${re(c)}\\b`));

        const [noName, noKey, badOpt, noDir, extraArg] = await Promise.all([
          cli(["install"]),
          cli(["cat", dataset]),
          cli(["ls", dataset, "--bogus"]),
          cli(["verify"]),
          cli(["list", "extra"]),
        ]);
        const empty = tempRoot("cli-empty");
        const missingRegistry = join(empty, "no-such-registry");
        const [badSpec, noStatus, noVerify, noForce, untagged, noRegistry] = await Promise.all([
          cli(["ls", "not-a-name"]),
          cli(["status", empty]),
          cli(["verify", empty]),
          cli(["force-match", empty, "--package", dataset]),
          cli(["tag", dataset, "x"]),
          cli(["list", "--registry", missingRegistry]),
        ]);
        expectHintedError(badSpec, 2, /^Error: Invalid package spec "not-a-name"/);
        expectHintedError(
          noRegistry,
          4,
          new RegExp(`^Error: Registry ${re(missingRegistry)} does not exist`),
        );
        expectHintedError(
          noStatus,
          4,
          /holds no installed package and no builder workspace\nhint: .*quilt install NAME --dest/,
        );
        expectHintedError(noVerify, 4, /holds no installed package\nhint: .*--package NAME/);
        expectHintedError(noForce, 4, /holds no installed package/);
        expectHintedError(
          untagged,
          2,
          /^Error: Which version of .* should be tagged "x"\?\nhint: name it by hash/,
        );
        for (const [r, usage] of [
          [noName, "quilt install <name>"],
          [noKey, "quilt cat <name> [key]"],
          [badOpt, "quilt ls <name> [prefix]"],
          [noDir, "quilt verify <dir>"],
          [extraArg, "quilt list"],
        ] as const) {
          expect(r.code, r.stderr).toBe(2);
          expect(r.stdout).toBe("");
          expect(r.stderr).toMatch(new RegExp(`^Usage: ${re(usage)}\n(Error: .+\n)+hint: `));
        }
      },
    );
  });
}
