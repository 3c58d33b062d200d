// Runs the real `quilt` executable (bin/quilt.js over the compiled dist/, which
// scripts/test.sh builds first) and captures what a user would see.
import { execFile } from "node:child_process";
import { join } from "node:path";
import { REPO_ROOT } from "./moto-server.js";

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runCli(
  args: string[],
  opts: { env?: Record<string, string>; cwd?: string; input?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [join(REPO_ROOT, "bin", "quilt.js"), ...args],
      { env: { ...process.env, ...opts.env }, cwd: opts.cwd, maxBuffer: 64 * 1024 * 1024, encoding: "utf8" },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    child.stdin?.end(opts.input ?? "");
  });
}
