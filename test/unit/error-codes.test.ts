// One code per kind of failure, carried unchanged from the library through the daemon's
// socket to the CLI's exit status, and documented: every code maps to a status in README's
// "Exit status" table (parsed here, so the documentation cannot drift from the code) and
// in `quilt --help`. Also the one translation of Node's fs errors and the one renderer of
// untrusted text that every message uses.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DaemonClient } from "../../src/daemon/client.js";
import { SocketServer } from "../../src/daemon/socket-server.js";
import { ERROR_CODES, QuiltError, type ErrorCode } from "../../src/errors.js";
import { EXIT_STATUS_MEANINGS, exitCodeFor } from "../../src/cli/exit-codes.js";
import { main } from "../../src/cli/main.js";
import { asQuiltError, fromOsError } from "../../src/os-errors.js";
import { quoted, untrusted } from "../../src/untrusted-text.js";
import { parseLogicalKey } from "../../src/manifest/logical-key.js";
import { REPO_ROOT } from "../helpers/moto-server.js";

const CODES = Object.keys(ERROR_CODES) as ErrorCode[];

/** README's exit-status table: status -> the error codes its row lists. */
function readmeTable(): Map<number, string[]> {
  const readme = readFileSync(join(REPO_ROOT, "README.md"), "utf8");
  const section = readme.split(/^## Exit status$/m)[1]?.split(/^## /m)[0] ?? "";
  const rows = new Map<number, string[]>();
  for (const line of section.split("\n")) {
    const m = /^\| (\d+) \|(.*)\|(.*)\|$/.exec(line);
    if (m)
      rows.set(
        Number(m[1]),
        [...(m[3] as string).matchAll(/`(E[A-Z]+)`/g)].map((x) => x[1] as string),
      );
  }
  return rows;
}

describe("exit statuses", () => {
  const table = readmeTable();

  it("README documents every status the CLI uses, and only those", () => {
    expect([...table.keys()]).toEqual(EXIT_STATUS_MEANINGS.map(([n]) => n));
  });

  it.each(CODES)("%s maps to the status README lists it under, once", (code) => {
    const rows = [...table].filter(([, codes]) => codes.includes(code));
    expect(rows.map(([n]) => n)).toEqual([exitCodeFor(code)]);
  });

  it("README lists no code that does not exist", () => {
    for (const codes of table.values()) for (const c of codes) expect(CODES).toContain(c);
  });

  it("quilt --help lists every status", async () => {
    let out = "";
    const io = {
      out: (t: string) => void (out += t),
      err: () => undefined,
      outBytes: () => undefined,
      isTty: false,
    };
    expect(await main(["--help"], io, { ...process.env, QUILT_NO_LOG_FILE: "1" })).toBe(0);
    expect(out).toContain("Exit status:"); // yargs wraps the lines to the terminal
    for (const [n] of EXIT_STATUS_MEANINGS) expect(out).toMatch(new RegExp(`^ +${n}  \\S`, "m"));
  });
});

describe("codes over the daemon's socket", () => {
  const path = join(mkdtempSync(join(tmpdir(), "quilt-codes-")), "daemon", "quilt.sock");
  let thrown: unknown;
  const server = new SocketServer(path, {
    ping: async () => {
      throw thrown;
    },
  });
  const client = new DaemonClient(path);
  afterAll(() => server.close());

  it.each(CODES)("%s arrives as itself, with its message and hint", async (code) => {
    await server.open().catch(() => undefined); // the first test opens it
    thrown = new QuiltError(code, `failed with ${code}`, { hint: `do something about ${code}` });
    await expect(client.request("ping")).rejects.toMatchObject({
      name: "QuiltError",
      code,
      message: `failed with ${code}`,
      hint: `do something about ${code}`,
    });
  });

  it("a Node fs error in the daemon arrives translated, anything else as EINTERNAL asking for a report", async () => {
    thrown = Object.assign(new Error("EACCES: permission denied, open '/data/x'"), {
      code: "EACCES",
      syscall: "open",
      path: "/data/x",
    });
    await expect(client.request("ping")).rejects.toMatchObject({
      code: "EPERMISSION",
      message: "Cannot open /data/x: permission denied",
    });
    thrown = new TypeError("x is not a function");
    await expect(client.request("ping")).rejects.toMatchObject({
      code: "EINTERNAL",
      hint: expect.stringContaining("bug"),
    });
  });
});

describe("Node fs errors in the user's words", () => {
  const fsError = (code: string, syscall: string, path: string) =>
    Object.assign(new Error(`${code}: raw, ${syscall} '${path}'`), { code, syscall, path });

  it.each([
    ["ENOTDIR", "mkdir", "EEXISTS"],
    ["EEXIST", "mkdir", "EEXISTS"],
    ["ENAMETOOLONG", "open", "EBADKEY"],
    ["EACCES", "open", "EPERMISSION"],
    ["EROFS", "mkdir", "EPERMISSION"],
    ["ENOSPC", "write", "ENOSPACE"],
    ["ENOENT", "scandir", "ENOTFOUND"],
  ])("%s from %s is %s, naming the path, with a hint and no raw errno text", (errno, syscall, code) => {
    const e = fromOsError(fsError(errno, syscall, "/dest/dir/file"));
    expect(e?.code).toBe(code);
    expect(e?.message).toMatch(/^Cannot [a-z ]+ \/dest\/dir\/file: /);
    expect(e?.message).not.toContain(errno);
    expect(e?.hint).toBeTruthy();
  });

  it("leaves QuiltErrors (whose codes may look like errnos: EBUSY) and unknown errors alone", () => {
    expect(fromOsError(new QuiltError("EBUSY", "busy"))).toBeUndefined();
    expect(fromOsError(Object.assign(new Error("x"), { code: "ERR_SOMETHING" }))).toBeUndefined();
    const q = new QuiltError("EBUSY", "busy");
    expect(asQuiltError(q, "report it")).toBe(q);
    expect(asQuiltError(new Error("oops"), "report it")).toMatchObject({
      code: "EINTERNAL",
      hint: "report it",
    });
  });
});

describe("untrusted text in messages", () => {
  it("escapes control and direction-override characters and cuts long text", () => {
    expect(untrusted("a\u001b[31mb\nc\u0007\u202ed")).toBe("a\\u001b[31mb\\nc\\u0007\\u202ed");
    const long = untrusted("k".repeat(10_000));
    expect(long.length).toBeLessThan(260);
    expect(long).toMatch(/^k{200}… \(9800 more characters\)$/);
    expect(untrusted("😀".repeat(300))).toMatch(/^(😀){200}…/); // never half a surrogate pair
  });

  it("quotes like JSON for ordinary strings, and bounds everything else", () => {
    for (const s of ["plain", 'with "quotes" and \\', "tab\there", "été/😀"])
      expect(quoted(s)).toBe(JSON.stringify(s));
    expect(quoted(undefined)).toBe("undefined");
    expect(quoted({ a: 1 })).toBe('{"a":1}');
  });

  it("a manifest's 10 KB key with escapes and a NUL is refused in a bounded, escaped message", () => {
    let err: unknown;
    try {
      parseLogicalKey(`\u001b[2J\u001b[H${"k".repeat(10_000)}\u0000`, "Manifest line 2: ");
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: "EBADKEY" });
    const message = (err as Error).message;
    expect(message).toMatch(
      /^Manifest line 2: Invalid logical key "\\u001b\[2J\\u001b\[Hk+… \(9808 more characters\)": it contains a NUL character$/,
    );
    expect(message.length).toBeLessThan(400);
  });
});
