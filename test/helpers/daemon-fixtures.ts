// Packages for the daemon tests, published to moto with the library (PackageBuilder +
// pushDataAndManifest), and the async helpers that read a mount back and compare it with
// the source bytes. Everything here runs in the test process, which never serves a mount.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, open, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { isTempName } from "../../src/cache/block-file.js";
import { IDENTITY_FILE } from "../../src/cache/data-identity.js";
import { PackageBuilder, Session } from "../../src/index.js";
import type { Manifest } from "../../src/manifest/manifest.js";
import { VENV_BIN } from "./moto-server.js";
import { pseudoRandomBytes } from "./package-fixtures.js";

export { pseudoRandomBytes };

/** The project venv's Python when it exists, else python3 from PATH. */
export function pythonBin(): string {
  const venv = join(VENV_BIN, "python");
  return existsSync(venv) ? venv : "python3";
}

/** Runs a command; rejects (with its stderr) when it exits non-zero. */
export function runCommand(
  cmd: string,
  args: string[],
  opts: { timeoutMs?: number; env?: Record<string, string> } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      {
        maxBuffer: 64 * 1024 * 1024,
        timeout: opts.timeoutMs ?? 60_000,
        env: { ...process.env, ...opts.env },
      },
      (err, stdout, stderr) =>
        err ? reject(Object.assign(err, { message: `${err.message}\n${stderr}` })) : resolve(stdout),
    );
  });
}

export function sha256Hex(bytes: Buffer): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** A library context of its own (cache in a temp dir), talking to `endpoint`. Close it. */
export async function libraryContext(endpoint: string): Promise<{ ctx: Session; close(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "quilt-daemon-lib-"));
  const ctx = new Session({ cacheDir: join(dir, "cache"), s3: { endpoint, forcePathStyle: true } });
  return {
    ctx,
    close: async () => {
      await ctx.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Publishes `files` (logical key -> bytes) as NAME:TAG with per-entry metadata `meta`,
 * data under `prefix`; returns the top hash and the manifest.
 */
export async function publishFiles(
  endpoint: string,
  registry: string,
  name: string,
  files: Record<string, Buffer>,
  opts: { prefix: string; tag?: string; meta?: Record<string, unknown> },
): Promise<{ topHash: string; manifest: Manifest }> {
  const src = await mkdtemp(join(tmpdir(), "quilt-daemon-src-"));
  const lib = await libraryContext(endpoint);
  try {
    for (const [key, bytes] of Object.entries(files)) {
      const path = join(src, ...key.split("/"));
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, bytes);
    }
    const b = new PackageBuilder(name, { registry, session: lib.ctx });
    await b.add(src, "");
    for (const [key, meta] of Object.entries(opts.meta ?? {})) b.setMeta(key, meta);
    const pkg = await b.pushDataAndManifest({ prefix: opts.prefix, tag: opts.tag ?? "v1" });
    return { topHash: pkg.hash, manifest: pkg.manifest };
  } finally {
    await lib.close();
    await rm(src, { recursive: true, force: true });
  }
}

/** Every file under `dir` (relative key with "/" -> absolute path), walking with async readdir. */
export async function walkFiles(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const visit = async (d: string, prefix: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const path = join(d, e.name);
      if (e.isDirectory()) await visit(path, `${prefix}${e.name}/`);
      else out.set(`${prefix}${e.name}`, path);
    }
  };
  await visit(dir, "");
  return out;
}

/**
 * Keys whose bytes under `mnt` differ from `files` (and keys missing or extra), empty when
 * all match. Files in `skipRead` are listed but not read.
 */
export async function mountDifferences(
  mnt: string,
  files: Record<string, Buffer>,
  skipRead: string[] = [],
): Promise<string[]> {
  const seen = await walkFiles(mnt);
  const problems: string[] = [];
  for (const key of Object.keys(files)) if (!seen.has(key)) problems.push(`missing ${key}`);
  for (const key of seen.keys()) if (!(key in files)) problems.push(`extra ${key}`);
  for (const [key, path] of seen) {
    const want = files[key];
    if (!want || skipRead.includes(key)) continue;
    const got = await readFile(path);
    if (got.length !== want.length || sha256Hex(got) !== sha256Hex(want))
      problems.push(
        `bytes of ${key}: ${got.length} bytes, sha256 ${sha256Hex(got).slice(0, 12)}; want ${want.length}, ${sha256Hex(want).slice(0, 12)}`,
      );
  }
  return problems.sort();
}

/** `length` bytes at `offset` of a file in a mount, with its own open (so a new kernel open each time). */
export async function readAt(path: string, offset: number, length: number): Promise<Buffer> {
  const fh = await open(path, "r");
  try {
    const buf = Buffer.alloc(length);
    const { bytesRead } = await fh.read(buf, 0, length, offset);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** "ok" when `p` resolves, else the errno name it failed with (errno 116 is "Unknown system error -116" to Node). */
export async function errnoOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "ok";
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? String(err);
  }
}

/** Bytes of the block files under the data directory (temporary files, chunk digests, fetch claims and the identity file excluded). */
export async function blockFileBytes(dataDir: string): Promise<{ bytes: number; files: number }> {
  let bytes = 0;
  let files = 0;
  const visit = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const path = join(dir, e.name);
      if (e.name === "digests" || e.name === "claims" || e.name === IDENTITY_FILE) continue;
      if (e.isDirectory()) await visit(path);
      else if (!isTempName(e.name)) {
        bytes += (await stat(path)).size;
        files++;
      }
    }
  };
  await visit(dataDir);
  return { bytes, files };
}
