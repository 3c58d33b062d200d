// Timeouts of S3 requests (issue 12, point 2): a server that accepts connections and never
// answers, and one whose body stops half way, against the real CLI and library. Each
// attempt gives up after QUILT_S3_IDLE_TIMEOUT without bytes and is retried like any other
// transient fault, on a fresh connection; a silent server fails within a bound, with a hint.
import { createServer, type Server, type Socket } from "node:net";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { FAKE_AWS_ENV } from "../helpers/moto-server.js";

/** A TCP server that accepts every connection and never sends a byte. */
async function startSilentServer(): Promise<{
  endpoint: string;
  connections: () => number;
  close: () => Promise<void>;
}> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server: Server = createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on("error", () => undefined);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    connections: () => accepted,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

describe("a server that accepts and never answers", () => {
  let silent: Awaited<ReturnType<typeof startSilentServer>>;
  let home: string;
  beforeAll(async () => {
    silent = await startSilentServer();
    home = await mkdtemp(join(tmpdir(), "quilt-silent-"));
  });
  afterAll(async () => {
    await silent.close();
  });

  const env = (extra: Record<string, string> = {}): Record<string, string> => ({
    ...FAKE_AWS_ENV,
    AWS_ENDPOINT_URL: silent.endpoint,
    QUILT_CACHE_DIR: join(home, "cache"),
    QUILT_STATE_DIR: join(home, "state"),
    ...extra,
  });

  it("quilt ls fails with a storage error and a hint after its bounded retries (1 s idle timeout: seconds, where it took > 150 s)", async () => {
    const started = Date.now();
    const r = await runCli(["ls", "ns/pkg:latest", "--registry", "s3://bucket"], {
      env: env({ QUILT_S3_CONNECT_TIMEOUT: "1", QUILT_S3_IDLE_TIMEOUT: "1" }),
    });
    const elapsed = Date.now() - started;
    expect(r.code === 3 || r.code === 6, `${r.code} ${r.stderr}`).toBe(true);
    expect(r.stderr).toMatch(/^Error: .*s3:\/\/bucket\/.*(no bytes from the server|timed out) .*1000 ms/m);
    expect(r.stderr).toMatch(/hint: .*127\.0\.0\.1.* stopped sending bytes.*QUILT_S3_IDLE_TIMEOUT/);
    // 5 attempts (the default retry policy), one connection each: a timed-out direct GET is
    // not handed to the SDK to wait the whole timeout again.
    expect(silent.connections()).toBeLessThanOrEqual(5);
    // A bound that proves "did not hang" (5 attempts of 1 s plus backoff), not a speed target.
    expect(elapsed).toBeLessThan(20_000);
  }, 60_000);

  it("the same through the SDK's path (QUILT_S3_DIRECT_GET=0): each attempt times out once", async () => {
    const before = silent.connections();
    const started = Date.now();
    const r = await runCli(["ls", "ns/pkg:latest", "--registry", "s3://bucket"], {
      env: env({ QUILT_S3_IDLE_TIMEOUT: "1", QUILT_S3_DIRECT_GET: "0" }),
    });
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/^Error: .*timed out after 1000 ms of inactivity/m);
    expect(r.stderr).toMatch(/^hint: .*QUILT_S3_IDLE_TIMEOUT/m);
    expect(silent.connections() - before).toBeLessThanOrEqual(5);
    expect(Date.now() - started).toBeLessThan(20_000);
  }, 60_000);

  it("refuses a timeout that is not a number of seconds, naming it (exit 2)", async () => {
    const r = await runCli(["ls", "ns/pkg:latest", "--registry", "s3://bucket"], {
      env: env({ QUILT_S3_IDLE_TIMEOUT: "15ms" }),
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('QUILT_S3_IDLE_TIMEOUT="15ms"');
    expect(r.stderr).toMatch(/hint: .*seconds/);
  });
});
