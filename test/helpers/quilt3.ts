// Runs the real quilt3 client (PyPI, in the project's venv) inside a test: the judge of
// compatibility. Each call gets its own HOME and XDG dirs so quilt3's manifest cache and
// local registry never leak between tests, and telemetry is off (no internet here).
import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { VENV_BIN } from "./moto-server.js";

export interface Quilt3Options {
  /** Extra environment, e.g. s3TestEnv().env for the moto server. */
  env?: Record<string, string>;
  /** A HOME to reuse across calls (so quilt3's local registry persists); default: a fresh one. */
  home?: string;
  cwd?: string;
  timeoutMs?: number;
}

export function quilt3Home(): string {
  return mkdtempSync(join(tmpdir(), "quilt3-home-"));
}

export function quilt3Env(home: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: home,
    XDG_DATA_HOME: join(home, ".local", "share"),
    XDG_CACHE_HOME: join(home, ".cache"),
    XDG_CONFIG_HOME: join(home, ".config"),
    QUILT_DISABLE_USAGE_METRICS: "true",
    QUILT_MINIMIZE_STDOUT: "true",
    PYTHONIOENCODING: "utf-8",
    ...extra,
  };
}

/**
 * Runs a Python script with quilt3 importable. `args` reach the script as a JSON value in
 * `ARGS`, through stdin (no quoting problems, no argv size limit), and whatever it prints
 * to stdout is returned.
 */
export function runQuilt3(script: string, args: unknown = null, opts: Quilt3Options = {}): Promise<string> {
  const home = opts.home ?? quilt3Home();
  const prelude = "import json, sys\nARGS = json.loads(sys.stdin.read())\n";
  return new Promise((resolve, reject) => {
    const child = execFile(
      join(VENV_BIN, "python"),
      ["-c", prelude + script],
      {
        env: quilt3Env(home, opts.env),
        cwd: opts.cwd,
        timeout: opts.timeoutMs ?? 120_000,
        maxBuffer: 256 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`quilt3 script failed: ${err.message}\n${stderr}`));
        else resolve(stdout);
      },
    );
    child.stdin?.end(JSON.stringify(args));
  });
}

/** Like runQuilt3, for scripts that print one JSON document. */
export async function runQuilt3Json<T = unknown>(
  script: string,
  args: unknown = null,
  opts: Quilt3Options = {},
): Promise<T> {
  const out = await runQuilt3(script, args, opts);
  return JSON.parse(out) as T;
}
