// Starts a real moto S3 server (from the project's venv) on a free loopback port, for the
// whole test run. moto is the reference S3 for correctness: versioning, ranges, If-Match,
// multipart and checksums behave like AWS.
import {
  CreateBucketCommand,
  PutBucketVersioningCommand,
  S3Client,
  type S3ClientConfig,
} from "@aws-sdk/client-s3";
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { existsSync } from "node:fs";
import { join } from "node:path";

export const REPO_ROOT = join(import.meta.dirname, "..", "..");
export const VENV_BIN = join(REPO_ROOT, ".venv", "bin");

/** Credentials moto accepts; never real ones. */
export const FAKE_AWS_ENV = {
  AWS_ACCESS_KEY_ID: "testing",
  AWS_SECRET_ACCESS_KEY: "testing",
  AWS_SESSION_TOKEN: "testing",
  AWS_REGION: "us-east-1",
  AWS_DEFAULT_REGION: "us-east-1",
} as const;

/** A port nothing listens on now (another process may still take it before we bind). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface MotoServer {
  endpoint: string;
  stop(): Promise<void>;
}

export async function startMoto(): Promise<MotoServer> {
  const bin = join(VENV_BIN, "moto_server");
  if (!existsSync(bin)) {
    throw new Error(`${bin} is missing: run scripts/setup.sh first (it creates the Python venv)`);
  }
  // Another process may grab the port between our probe and moto's bind; retry a few times.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const proc = spawn(bin, ["-H", "127.0.0.1", "-p", String(port)], {
      stdio: ["ignore", "ignore", "pipe"],
      env: { ...process.env, ...FAKE_AWS_ENV },
    });
    let stderr = "";
    proc.stderr?.on("data", (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    const endpoint = `http://127.0.0.1:${port}`;
    if (await waitReady(endpoint, proc)) {
      return { endpoint, stop: () => stopProcess(proc) };
    }
    await stopProcess(proc);
    if (attempt >= 3) throw new Error(`moto_server did not start on ${endpoint}:\n${stderr}`);
  }
}

async function waitReady(endpoint: string, proc: ChildProcess): Promise<boolean> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) return false;
    try {
      const res = await fetch(`${endpoint}/moto-api/`);
      if (res.status < 500) return true;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

/** SIGTERM, then SIGKILL after 5 s; resolves once the process has exited. */
export function stopProcess(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => proc.kill("SIGKILL"), 5_000);
    proc.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    proc.kill("SIGTERM");
  });
}

/** A plain AWS SDK client of the run's moto server, for evidence and tampering outside quilt (destroy it). */
export function motoClient(env: { endpoint: string }, config: Partial<S3ClientConfig> = {}): S3Client {
  return new S3Client({
    endpoint: env.endpoint,
    forcePathStyle: true,
    region: FAKE_AWS_ENV.AWS_REGION,
    credentials: {
      accessKeyId: FAKE_AWS_ENV.AWS_ACCESS_KEY_ID,
      secretAccessKey: FAKE_AWS_ENV.AWS_SECRET_ACCESS_KEY,
    },
    ...config,
  });
}

/** Creates a bucket with versioning on, as the test buckets are (a test that needs a bucket of its own). */
export async function createVersionedBucket(endpoint: string, bucket: string): Promise<void> {
  const client = motoClient({ endpoint });
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    await client.send(
      new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: "Enabled" } }),
    );
  } finally {
    client.destroy();
  }
}
