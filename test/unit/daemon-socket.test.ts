// The daemon's socket: replies match requests by id, progress events arrive before the
// reply, errors keep their code and hint, each operation's params are checked before its
// handler runs, and malformed, truncated or oversized frames get an error reply or a closed
// connection without hurting the server.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, statSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { QuiltError } from "../../src/errors.js";
import { DaemonClient } from "../../src/daemon/client.js";
import type { PingReply, VerifyReply } from "../../src/daemon/ops.js";
import { MAX_FRAME_BYTES } from "../../src/daemon/protocol.js";
import { SocketServer, type Handlers } from "../../src/daemon/socket-server.js";

let server: SocketServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const PING: PingReply = { pid: 1, startedAt: "2026-01-01T00:00:00.000Z", mounts: 0 };
const ping = (mounts: number) => async () => ({ ...PING, mounts });

/** A verify reply that echoes what its handler was given. */
function checked(mountpoint: string, cachedOnly: boolean | undefined): VerifyReply {
  return {
    ok: true,
    checked: cachedOnly ? 1 : 0,
    rehashed: 0,
    failed: [],
    unverified: [mountpoint],
    failedOmitted: 0,
    unverifiedOmitted: 0,
  };
}

const MOUNT = { spec: "ns/x", mountpoint: "/m", registry: "s3://bucket" };

async function start(
  handlers: Partial<Handlers> = {
    ping: ping(0),
    verify: async (params, ctx) => {
      for (let i = 1; i <= 3; i++) ctx.progress({ done: i, total: 3 });
      return checked(params.mountpoint, params.cachedOnly);
    },
    mount: async () => {
      throw new QuiltError("ENOTFOUND", "No package ns/x", { hint: "check the name" });
    },
    unmount: async () => {
      throw new Error("boom");
    },
  },
): Promise<{ path: string; client: DaemonClient }> {
  const path = join(mkdtempSync(join(tmpdir(), "quilt-sock-")), "daemon", "quilt.sock");
  server = new SocketServer(path, handlers);
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
    const second = new SocketServer(path, { ping: ping(2) });
    await expect(second.open()).rejects.toMatchObject({
      code: "EBUSY",
      message: expect.stringContaining("already running"),
    });
    // The first still answers: the second did not unlink its socket.
    expect(await new DaemonClient(path).request("ping")).toEqual(PING);
    await server?.close();
    server = undefined;
    // A socket file left behind by a killed daemon does not stop the next one.
    spawnSync(process.execPath, [
      "-e",
      `require("node:net").createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, "SIGKILL"))`,
    ]);
    expect(existsSync(path)).toBe(true);
    server = new SocketServer(path, { ping: ping(3) });
    await server.open();
    expect(await new DaemonClient(path).request("ping")).toEqual({ ...PING, mounts: 3 });
  });

  it("answers requests with results, progress events and typed errors", async () => {
    const { client } = await start();
    expect(await client.request("ping")).toEqual(PING);
    const steps: number[] = [];
    const onProgress = (d: { done: number }) => steps.push(d.done);
    expect(await client.request("verify", { mountpoint: "/m", cachedOnly: true }, { onProgress })).toEqual(
      checked("/m", true),
    );
    expect(steps).toEqual([1, 2, 3]);
    const err = await client.request("mount", MOUNT).catch((e: unknown) => e as QuiltError);
    expect(err).toBeInstanceOf(QuiltError);
    expect(err).toMatchObject({ code: "ENOTFOUND", message: "No package ns/x", hint: "check the name" });
    await expect(client.request("unmount", { mountpoint: "/m" })).rejects.toMatchObject({
      code: "EINTERNAL",
      message: "Unexpected error: boom",
      hint: expect.stringContaining("bug"),
    });
    await expect(client.request("status", { mountpoint: "/m" })).rejects.toThrow(/not available/);
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
    // prefetch was named by the protocol but never served; it is no operation now.
    const prefetch = await raw(path, JSON.stringify({ id: 10, v: 1, op: "prefetch", params: {} }) + "\n");
    expect(prefetch.text).toMatch(/"id":10.*"EPROTO".*unknown operation \\"prefetch\\"/);
    const truncated = await raw(path, '{"id": 9, "v": 1, "op": "pi');
    expect(truncated.text).toBe("");
    const huge = await raw(path, Buffer.alloc(MAX_FRAME_BYTES + 10, 0x61), 500);
    expect(huge.text).toMatch(/frame larger than/);
    expect(huge.closed).toBe(true);
    const binary = await raw(path, Buffer.from([0xff, 0xfe, 0x00, 0x0a]));
    expect(binary.text).toMatch(/EPROTO/);
    // Still serving.
    expect(await client.request("ping")).toEqual(PING);
  });

  it("checks each operation's params before its handler: a wrong shape is the caller's usage error", async () => {
    const seen: unknown[] = [];
    const { path, client } = await start({
      ping: async (params) => (seen.push(params), PING),
      unmount: async (params) => (seen.push(params), { mountpoint: params.mountpoint }),
      verify: async (params) => (seen.push(params), checked(params.mountpoint, params.cachedOnly)),
      "cache-clear": async (params) => (seen.push(params), { cleared: true }),
      mount: async (params) => {
        seen.push(params);
        throw new QuiltError("ENOTFOUND", "no such package");
      },
    });
    // Wrong on purpose (`as never`): the typed client would not send these; another client could.
    const wrong: [op: "unmount" | "verify" | "cache-clear" | "mount", params: object, message: RegExp][] = [
      ["unmount", {}, /needs an absolute "mountpoint", got undefined/],
      ["unmount", { mountpoint: 5 }, /needs an absolute "mountpoint", got 5/],
      ["unmount", { mountpoint: "/m", force: "yes" }, /"force" must be true or false, got "yes"/],
      ["verify", { mountpoint: "/m", cachedOnly: 1 }, /"cachedOnly" must be true or false/],
      ["cache-clear", { all: "true" }, /"all" must be true or false/],
      ["mount", { ...MOUNT, spec: 1 }, /needs a "spec"/],
      ["mount", { ...MOUNT, registry: "bucket" }, /needs a resolved "registry"/],
      ["mount", { ...MOUNT, s3: { endpoint: 7 } }, /Invalid "s3" parameter/],
      ["mount", { ...MOUNT, verify: "paranoid" }, /Invalid verify mode "paranoid"/],
      ["mount", { ...MOUNT, credentials: null }, /"credentials" must be a fingerprint string/],
      ["mount", { ...MOUNT, allowOther: "no" }, /"allowOther" must be true or false/],
    ];
    for (const [op, params, message] of wrong) {
      await expect(
        client.request(op, params as never),
        `${op} ${JSON.stringify(params)}`,
      ).rejects.toMatchObject({
        code: "EUSAGE",
        message: expect.stringMatching(message),
      });
    }
    expect(seen, "no handler ran for a malformed request").toEqual([]);
    // Well-formed: the handler gets the declared fields only, whatever else came along.
    const unmounted = await raw(
      path,
      JSON.stringify({ id: 3, v: 1, op: "unmount", params: { mountpoint: "/m", force: true, extra: [1] } }) +
        "\n",
    );
    expect(JSON.parse(unmounted.text)).toEqual({ id: 3, ok: true, result: { mountpoint: "/m" } });
    expect(await client.request("ping", { surplus: 1 } as never)).toEqual(PING);
    await expect(
      client.request("mount", { ...MOUNT, verify: "strict", allowOther: true }),
    ).rejects.toMatchObject({
      code: "ENOTFOUND",
    });
    expect(seen).toEqual([
      { mountpoint: "/m", force: true },
      {},
      { ...MOUNT, verify: "strict", allowOther: true },
    ]);
  });

  it("types each operation's params, progress and reply (checked by tsc, never run)", () => {
    const misuse = async (client: DaemonClient) => {
      // @ts-expect-error unmount needs a mountpoint
      await client.request("unmount", {});
      // @ts-expect-error force is a boolean
      await client.request("unmount", { mountpoint: "/m", force: "yes" });
      // @ts-expect-error the dead prefetch operation is gone
      await client.request("prefetch", {});
      // @ts-expect-error verify's progress counts objects: no "step"
      await client.request("verify", { mountpoint: "/m" }, { onProgress: (d) => d.step });
      const r = await client.request("verify", { mountpoint: "/m" });
      // @ts-expect-error a verify reply has no "repaired" list (force-match's has)
      return r.repaired;
    };
    expect(misuse).toBeTypeOf("function");
  });

  it("reports a daemon that is not running as unreachable with a hint", async () => {
    const client = new DaemonClient(join(mkdtempSync(join(tmpdir(), "quilt-sock-")), "none.sock"));
    await expect(client.request("ping")).rejects.toMatchObject({
      code: "EUNREACHABLE",
      hint: expect.stringMatching(/quilt daemon start/),
    });
  });
});
