// One code per kind of failure, carried unchanged from the library through the daemon's
// socket to the CLI's exit status, and documented: every code maps to a status in README's
// "Exit status" table (parsed here, so the documentation cannot drift from the code) and
// in `quilt --help`.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DaemonClient } from "../../src/daemon/client.js";
import { SocketServer } from "../../src/daemon/socket-server.js";
import { ERROR_CODES, QuiltError, type ErrorCode } from "../../src/errors.js";
import { EXIT_STATUS_MEANINGS, exitCodeFor, exitStatusHelp } from "../../src/cli/exit-codes.js";
import { REPO_ROOT } from "../helpers/moto-server.js";

const CODES = Object.keys(ERROR_CODES) as ErrorCode[];

/** README's exit-status table: status -> the error codes its row lists. */
function readmeTable(): Map<number, string[]> {
  const readme = readFileSync(join(REPO_ROOT, "README.md"), "utf8");
  const section = readme.split(/^## Exit status$/m)[1]?.split(/^## /m)[0] ?? "";
  const rows = new Map<number, string[]>();
  for (const line of section.split("\n")) {
    const m = /^\| (\d+) \|(.*)\|(.*)\|$/.exec(line);
    if (m) rows.set(Number(m[1]), [...(m[3] as string).matchAll(/`(E[A-Z]+)`/g)].map((x) => x[1] as string));
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

  it("quilt --help lists every status", () => {
    const help = exitStatusHelp();
    for (const [n] of EXIT_STATUS_MEANINGS) expect(help).toMatch(new RegExp(`^ +${n}  \\S`, "m"));
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
    await expect(client.request("ping")).rejects.toMatchObject({ name: "QuiltError", code, message: `failed with ${code}`, hint: `do something about ${code}` });
  });
});
