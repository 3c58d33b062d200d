// What scripts/bench-peers.ts needs on the machine before it measures anything: the peer
// tools from Debian (installed here only when missing, and only as root, so one command
// runs the comparison on a fresh machine), their versions for the report, and a Python venv
// of its own (.venv-bench, git-ignored) with torch for the DataLoader workload and
// matplotlib for the chart. A peer or a Python package that cannot be installed is skipped
// with a note instead of failing the whole benchmark.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "./bench-support.js";

/** Debian package for each peer command. fio is not needed: random reads are a Python pread loop. */
const PEER_PACKAGES: Record<string, string> = { rclone: "rclone", s3fs: "s3fs", aws: "awscli" };

/** The torch version the issue asks for; if it will not install, the newest PyPI offers is tried. */
const TORCH_VERSION = "2.13.0";
const VENV = join(REPO_ROOT, ".venv-bench");
const PIP_TIMEOUT_MS = 10 * 60_000;

export function which(cmd: string): string | undefined {
  const r = spawnSync("sh", ["-c", 'command -v "$1"', "sh", cmd], { encoding: "utf8" });
  const path = r.stdout?.trim();
  return r.status === 0 && path ? path : undefined;
}

/**
 * Installs the Debian packages of peers that are not on PATH. Never installs Debian's `fuse`
 * (it conflicts with fuse3, which provides the fusermount every FUSE tool here uses).
 * Returns notes for the report.
 */
export function installPeers(): string[] {
  const missing = Object.entries(PEER_PACKAGES).filter(([cmd]) => !which(cmd));
  if (missing.length === 0) return [];
  const pkgs = missing.map(([, p]) => p);
  if (process.getuid?.() !== 0) return [`not root: could not install ${pkgs.join(", ")}`];
  console.error(`installing ${pkgs.join(" ")} with apt-get ...`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const update = spawnSync("apt-get", ["update", "-qq"], { stdio: ["ignore", "ignore", "inherit"], env });
  const install =
    update.status === 0
      ? spawnSync("apt-get", ["install", "-y", "-qq", ...pkgs], {
          stdio: ["ignore", "ignore", "inherit"],
          env,
        })
      : update;
  const still = missing.filter(([cmd]) => !which(cmd)).map(([, p]) => p);
  if (install.status !== 0 || still.length > 0)
    return [`apt-get install ${pkgs.join(" ")} failed; missing: ${still.join(", ") || "none"}`];
  return [`installed from Debian: ${pkgs.join(", ")}`];
}

function firstLine(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  return `${r.stdout ?? ""}${r.stderr ?? ""}`.trim().split("\n")[0] ?? "";
}

export interface PeerVersions {
  rclone?: string;
  s3fs?: string;
  /** The aws found first on PATH (a pyenv awscli v1 may shadow Debian's v2) and its version. */
  aws?: { path: string; version: string };
}

export function peerVersions(): PeerVersions {
  const out: PeerVersions = {};
  if (which("rclone")) out.rclone = firstLine("rclone", ["version"]);
  if (which("s3fs"))
    out.s3fs = firstLine("s3fs", ["--version"]).replace(
      /^Amazon Simple Storage Service File System /,
      "s3fs ",
    );
  const aws = which("aws");
  if (aws && spawnSync(aws, ["--version"]).status === 0)
    out.aws = { path: aws, version: firstLine(aws, ["--version"]).split(" ").slice(0, 2).join(" ") };
  return out;
}

export interface BenchPython {
  /** Interpreter of the bench venv, or of PATH when the venv could not be made. */
  python: string;
  /** torch's version when it imports, else undefined (the loader workload is skipped). */
  torch?: string;
  matplotlib: boolean;
  notes: string[];
}

function venvPython(): string {
  return join(VENV, "bin", "python");
}

function imports(module: string): string | undefined {
  const r = spawnSync(venvPython(), ["-c", `import ${module}; print(${module}.__version__)`], {
    encoding: "utf8",
  });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

function pip(args: string[]): boolean {
  console.error(`pip install ${args.join(" ")} (into ${VENV}) ...`);
  const r = spawnSync(venvPython(), ["-m", "pip", "install", "-q", ...args], {
    stdio: ["ignore", "ignore", "inherit"],
    timeout: PIP_TIMEOUT_MS,
  });
  return r.status === 0;
}

/**
 * The venv with torch and matplotlib, made once and reused (torch is large). torch comes
 * from PyPI as the issue asks (the CPU-only index is not reachable here): the pinned
 * version first, else the newest that installs.
 */
export function benchPython(wantTorch: boolean): BenchPython {
  const notes: string[] = [];
  if (!existsSync(venvPython())) {
    const r = spawnSync("python3", ["-m", "venv", VENV], { stdio: ["ignore", "ignore", "inherit"] });
    if (r.status !== 0)
      return {
        python: "python3",
        matplotlib: false,
        notes: ["could not create the bench venv: no torch, no chart"],
      };
  }
  let matplotlib = imports("matplotlib") !== undefined;
  if (!matplotlib) matplotlib = pip(["matplotlib"]) && imports("matplotlib") !== undefined;
  if (!matplotlib) notes.push("matplotlib did not install: no chart");
  let torch = wantTorch ? imports("torch") : undefined;
  if (wantTorch && torch === undefined) {
    if (pip([`torch==${TORCH_VERSION}`])) torch = imports("torch");
    if (torch === undefined) {
      notes.push(`torch==${TORCH_VERSION} did not install from PyPI; trying the newest torch`);
      if (pip(["torch"])) torch = imports("torch");
    }
    if (torch === undefined) notes.push("no torch version installed: DataLoader workload skipped");
  }
  return { python: venvPython(), ...(torch !== undefined && { torch }), matplotlib, notes };
}
