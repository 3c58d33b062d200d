// Runs the real `quilt` executable and kills it with SIGKILL at a chosen point: once a
// request it makes is held by the hold proxy (hold-proxy.ts), so the process is provably
// between the step before that request and the one after it. A command that ends before
// reaching the point fails the test with its output instead of passing unnoticed.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { REPO_ROOT } from "./moto-server.js";

export interface KilledRun {
  stdout: string;
  stderr: string;
}

/**
 * Starts `quilt ARGS`, waits for `point` (e.g. `proxy.hold({...})`) to resolve, then kills
 * the process with SIGKILL and waits for it to be gone. Rejects when the command exits first.
 */
export function killCliAt(
  args: string[],
  point: Promise<unknown>,
  opts: { env: Record<string, string>; cwd?: string },
): Promise<KilledRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(REPO_ROOT, "bin", "quilt.js"), ...args], {
      env: { ...process.env, ...opts.env },
      cwd: opts.cwd,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    let reached = false;
    void point.then(() => {
      reached = true;
      child.kill("SIGKILL");
    });
    child.on("exit", (code, signal) => {
      if (reached && signal === "SIGKILL") resolve({ stdout, stderr });
      else
        reject(
          new Error(
            `quilt ${args.join(" ")} ended (code ${code}, signal ${signal}) before the kill point\nstdout: ${stdout}\nstderr: ${stderr}`,
          ),
        );
    });
  });
}
