// Ctrl-C during a command that waits on the network: the CLI says it was interrupted and
// exits 130 (EABORTED in README's "Exit status") at once, instead of dying silently. The
// S3 endpoint is a server that accepts connections and never answers, so `quilt ls`
// waits until the signal.
import { spawn } from "node:child_process";
import { createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { exitCodeFor } from "../../src/cli/exit-codes.js";
import { FAKE_AWS_ENV, REPO_ROOT } from "../helpers/moto-server.js";
import { tempRoot, cleanupAll } from "../helpers/usecase-support.js";

let silent: Server;
const sockets: Socket[] = [];
let connected: Promise<void>;

beforeAll(async () => {
  let onConnect: () => void = () => undefined;
  connected = new Promise((resolve) => (onConnect = resolve));
  silent = createServer((s) => {
    sockets.push(s);
    onConnect();
  });
  await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((resolve) => silent.close(resolve));
  await cleanupAll();
});

it("Ctrl-C while a request waits: 'Interrupted', a hint, exit 130", async () => {
  const { port } = silent.address() as { port: number };
  const root = tempRoot("interrupt");
  const child = spawn(
    process.execPath,
    [join(REPO_ROOT, "bin", "quilt.js"), "ls", "ns/pkg:v1", "--registry", "s3://bucket"],
    {
      env: {
        ...process.env,
        ...FAKE_AWS_ENV,
        AWS_ENDPOINT_URL: `http://127.0.0.1:${port}`,
        QUILT_STATE_DIR: join(root, "state"),
        QUILT_CACHE_DIR: join(root, "cache"),
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  await connected; // the request is in flight
  child.kill("SIGINT");
  const code = await exited;
  expect(code, stderr).toBe(exitCodeFor("EABORTED"));
  expect(code).toBe(130);
  expect(stderr).toMatch(/^Error: Interrupted \(Ctrl-C\)\nhint: run the command again/m);
}, 30_000);
