// Pieces of the builder-workflow CLI tests: a session running `quilt` commands in a
// workspace (with a fixed environment) and a reader for `quilt status` output, which
// throws on any line it does not recognise so a changed format fails the test.
import { expect } from "vitest";
import { runCli, type CliResult } from "./cli.js";

export interface WorkspaceStatus {
  /** "PackageBuilder: NAME (pre-manifest)", or "Package: NAME:TAG (hash9)". */
  head: string;
  /** The Data lines as [logical, source]; empty after "Data matches manifest". */
  data: [string, string][];
  matches: boolean;
  /** Lines after the data (e.g. files changed since hashed). */
  rest: string[];
}

export function parseStatus(stdout: string): WorkspaceStatus {
  const lines = stdout.replace(/\n$/, "").split("\n");
  const head = lines[0] ?? "";
  if (/^Package: /.test(head)) {
    if (lines.length !== 2 || lines[1] !== "Data matches manifest")
      throw new Error(`unexpected package status:\n${stdout}`);
    return { head, data: [], matches: true, rest: [] };
  }
  if (
    !/^PackageBuilder: \S+ \((pre-manifest|[0-9a-f]{9})\)$/.test(head) ||
    lines[1] !== "" ||
    lines[2] !== "Data:"
  )
    throw new Error(`unexpected builder status:\n${stdout}`);
  const data: [string, string][] = [];
  let i = 3;
  for (; i < lines.length && lines[i] !== ""; i++) {
    const m = /^ {2}(\S+) +-> {2}(\S+)$/.exec(lines[i] as string);
    if (!m) {
      if (/^ {2}\(none yet/.test(lines[i] as string)) continue;
      throw new Error(`unrecognised data line ${JSON.stringify(lines[i])} in:\n${stdout}`);
    }
    data.push([m[1] as string, m[2] as string]);
  }
  return { head, data, matches: false, rest: lines.slice(i + 1) };
}

export class CliSession {
  readonly log: { args: string[]; result: CliResult }[] = [];

  constructor(
    public cwd: string,
    readonly env: Record<string, string>,
  ) {}

  async run(...args: string[]): Promise<CliResult> {
    const result = await runCli(args, { cwd: this.cwd, env: this.env });
    this.log.push({ args, result });
    return result;
  }

  /** Runs a command that must succeed; returns its stdout. */
  async ok(...args: string[]): Promise<string> {
    const r = await this.run(...args);
    expect(r.code, `quilt ${args.join(" ")}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(0);
    expect(r.stderr, `quilt ${args.join(" ")}`).not.toMatch(/^Error:/m);
    return r.stdout;
  }

  /** `quilt status` in the workspace, parsed; checks its exit status (1 only when files changed since hashed). */
  async status(): Promise<WorkspaceStatus> {
    const r = await this.run("status");
    const s = parseStatus(r.stdout);
    expect(r.code, `quilt status\n${r.stdout}${r.stderr}`).toBe(
      s.rest.some((l) => l.startsWith("Changed since hashed")) ? 1 : 0,
    );
    return s;
  }
}
