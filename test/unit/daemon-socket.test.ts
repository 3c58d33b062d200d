// The daemon's socket: replies match requests by id, progress events arrive before the
// reply, errors keep their code and hint, and malformed, truncated or oversized frames get
// an error reply or a closed connection without hurting the server.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, statSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { QuiltError } from "../../src/errors.js";
import { DaemonClient } from "../../src/daemon/client.js";
import { MAX_FRAME_BYTES } from "../../src/daemon/protocol.js";
import { SocketServer } from "../../src/daemon/socket-server.js";

let server: SocketServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(): Promise<{ path: string; client: DaemonClient }> {
  const path = join(mkdtempSync(join(tmpdir(), "quilt-sock-")), "daemon", "quilt.sock");
  server = new SocketServer(path, {
    ping: async () => ({ pong: true }),
    stats: async (params, ctx) => {
      for (let i = 1; i <= 3; i++) ctx.progress({ step: i });
      return { echoed: params.x ?? null };
    },
    mount: async () => {
      throw new QuiltError("ENOTFOUND", "No package ns/x", { hint: "check the name" });
    },
    unmount: async () => {
      throw new Error("boom");
    },
  });
  await server.open();
  return { path, client: new DaemonClient(path) };
}

/** Sends raw bytes and collects what the server answers until it closes or goes quiet. */
function raw(path: string, data: string | Buffer, waitMs = 300): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const s = connect(path);
    let text = "";
    let closed = false;
    s.on("data", (d) => (text += d.toString()));
    s.on("close", () => {
      closed = true;
    });
    s.on("error", () => {});
    s.on("connect", () => s.write(data));
    setTimeout(() => {
      s.destroy();
      resolve({ text, closed });
    }, waitMs);
  });
}

describe("daemon socket", () => {
  it("lives in a 0700 directory with mode 0600", async () => {
    const { path } = await start();
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(path, "..")).mode & 0o777).toBe(0o700);
  });

  it("lets one server hold a socket path at a time, replaces a dead one's socket file, and frees the path when closed", async () => {
    const { path } = await start();
    const second = new SocketServer(path, { ping: async () => ({ second: true }) });
    await expect(second.open()).rejects.toMatchObject({
      code: "EBUSY",
      message: expect.stringContaining("already running"),
    });
    // The first still answers: the second did not unlink its socket.
    expect(await new DaemonClient(path).request("ping")).toEqual({ pong: true });
    await server?.close();
    server = undefined;
    // A socket file left behind by a killed daemon does not stop the next one.
    spawnSync(process.execPath, [
      "-e",
      `require("node:net").createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, "SIGKILL"))`,
    ]);
    expect(existsSync(path)).toBe(true);
    server = new SocketServer(path, { ping: async () => ({ third: true }) });
    await server.open();
    expect(await new DaemonClient(path).request("ping")).toEqual({ third: true });
  });

  it("answers requests with results, progress events and typed errors", async () => {
    const { client } = await start();
    expect(await client.request("ping")).toEqual({ pong: true });
    const steps: unknown[] = [];
    expect(await client.request("stats", { x: 5 }, { onProgress: (d) => steps.push(d.step) })).toEqual({
      echoed: 5,
    });
    expect(steps).toEqual([1, 2, 3]);
    const err = await client.request("mount").catch((e: unknown) => e as QuiltError);
    expect(err).toBeInstanceOf(QuiltError);
    expect(err).toMatchObject({ code: "ENOTFOUND", message: "No package ns/x", hint: "check the name" });
    await expect(client.request("unmount")).rejects.toMatchObject({
      code: "EINTERNAL",
      message: "Unexpected error: boom",
      hint: expect.stringContaining("bug"),
    });
    await expect(client.request("verify")).rejects.toThrow(/not available/);
    const many = await Promise.all(Array.from({ length: 50 }, () => client.request("ping")));
    expect(many).toHaveLength(50);
  });

  it("survives malformed, truncated and oversized frames", async () => {
    const { path, client } = await start();
    const bad = await raw(path, "this is not json\n");
    expect(bad.text).toMatch(/"code":"EPROTO".*one line of JSON/);
    const wrongVersion = await raw(path, JSON.stringify({ id: 7, v: 99, op: "ping" }) + "\n");
    expect(wrongVersion.text).toMatch(/"id":7.*unsupported protocol version 99/);
    const unknownOp = await raw(path, JSON.stringify({ id: 8, v: 1, op: "rm -rf" }) + "\n");
    expect(unknownOp.text).toMatch(/unknown operation/);
    const truncated = await raw(path, '{"id": 9, "v": 1, "op": "pi');
    expect(truncated.text).toBe("");
    const huge = await raw(path, Buffer.alloc(MAX_FRAME_BYTES + 10, 0x61), 500);
    expect(huge.text).toMatch(/frame larger than/);
    expect(huge.closed).toBe(true);
    const binary = await raw(path, Buffer.from([0xff, 0xfe, 0x00, 0x0a]));
    expect(binary.text).toMatch(/EPROTO/);
    // Still serving.
    expect(await client.request("ping")).toEqual({ pong: true });
  });

  it("reports a daemon that is not running as unreachable with a hint", async () => {
    const client = new DaemonClient(join(mkdtempSync(join(tmpdir(), "quilt-sock-")), "none.sock"));
    await expect(client.request("ping")).rejects.toMatchObject({
      code: "EUNREACHABLE",
      hint: expect.stringMatching(/quilt daemon start/),
    });
  });
});
