// Hostile clients of the daemon's socket for the socket fuzz test, all driven by a seeded
// PRNG: random bytes, lines of broken JSON, well-formed envelopes with wrong types for
// every operation, oversized frames, half-open clients (half a frame, then silence), slow
// clients (a byte per 100 ms), clients that half-close or vanish mid-request, and clients
// that pipeline requests without reading a reply. Each returns the problems it saw.
import { connect, type Socket } from "node:net";
import { DaemonClient } from "../../src/daemon/client.js";
import { OPERATIONS } from "../../src/daemon/ops.js";
import { MAX_FRAME_BYTES, PROTOCOL_VERSION } from "../../src/daemon/protocol.js";
import type { Rng } from "./fuzz.js";
import { sleep } from "./daemon-harness.js";

/** Every operation but shutdown (a well-formed shutdown would end the run, as it should). */
const OPS = OPERATIONS.filter((op) => op !== "shutdown");
const PARAM_NAMES = [
  "spec",
  "mountpoint",
  "registry",
  "s3",
  "credentials",
  "verify",
  "allowOther",
  "nonEmpty",
  "force",
  "cachedOnly",
  "paths",
  "previous",
  "x",
];
const WRONG_VALUES: unknown[] = [
  null,
  true,
  0,
  -1,
  1.5,
  1e308,
  2 ** 60,
  "",
  "x",
  "../..",
  "/",
  "/proc/self",
  "\u0000",
  "s3://",
  "file:///",
  "ns/name",
  [],
  [1, "a"],
  {},
  { toString: 1 },
  { valueOf: "x" },
  JSON.parse('{"__proto__": {"toString": 1}}'),
  { a: { b: { c: [] } } },
];

function wrongValue(r: Rng): unknown {
  if (r.chance(0.05)) return "y".repeat(r.int(1, 200_000));
  if (r.chance(0.05)) return JSON.parse("[".repeat(500) + "]".repeat(500)) as unknown;
  return r.pick(WRONG_VALUES);
}

/** A request envelope that is well formed, for any operation but shutdown, with params of wrong or random types. */
function wrongParams(id: number, r: Rng): string {
  const op = r.pick(OPS);
  const params: Record<string, unknown> = {};
  for (let n = r.int(0, 5); n > 0; n--) params[r.pick(PARAM_NAMES)] = wrongValue(r);
  // A mount must never succeed: its registry is never a resolved s3:// or file:// URL.
  if (op === "mount")
    params.registry = r.pick([null, 1, "", "http://x", "bucket", ["s3://b"], { url: "s3://b" }]);
  const req: Record<string, unknown> = { id, v: PROTOCOL_VERSION, op };
  if (r.chance(0.9)) req.params = params;
  else req.params = r.pick([null, [], "x", 3]);
  return JSON.stringify(req);
}

/** An envelope with one field wrong; `keepsId` when the reply must still carry `id`. */
function wrongEnvelope(id: number, r: Rng): { text: string; keepsId: boolean } {
  const base: Record<string, unknown> = { id, v: PROTOCOL_VERSION, op: r.pick(OPS) };
  const field = r.pick(["id", "v", "op", "params"]);
  // Never a positive integer id: that would be another request's id on this connection.
  base[field] = r.pick(
    field === "id"
      ? [null, true, 1.5, 1e308, 2 ** 60, "", "1", [], {}]
      : [
          ...WRONG_VALUES,
          "shutdown ",
          "__proto__",
          "constructor",
          "toString",
          "hasOwnProperty",
          PROTOCOL_VERSION + 1,
        ],
  );
  return { text: JSON.stringify(base), keepsId: field !== "id" };
}

const GARBAGE_JSON = [
  "",
  " ",
  "{",
  "}",
  "[]",
  "null",
  "0",
  '"ping"',
  '{"id":',
  '{"id": 1, "v": 1, "op": "ping"',
  "{'id': 1}",
  "NaN",
  "1e999",
  "\ufeff{}",
  '{"id":1,"v":1,"op":"ping"}}',
];

/** One frame (newline-terminated unless `open`), and the id a reply must carry (0: none expected). */
export function randomFrame(id: number, r: Rng): { bytes: Buffer; replyId: number } {
  const kind = r.int(0, 9);
  if (kind <= 1)
    return {
      bytes: Buffer.concat([r.bytes(r.int(0, 300)).filter((b) => b !== 0x0a), Buffer.from("\n")]),
      replyId: 0,
    };
  if (kind === 2) return { bytes: Buffer.from(r.pick(GARBAGE_JSON) + "\n"), replyId: 0 };
  if (kind === 3) {
    const { text, keepsId } = wrongEnvelope(id, r);
    return { bytes: Buffer.from(text + "\n"), replyId: keepsId ? id : 0 };
  }
  if (kind === 4)
    return {
      bytes: Buffer.from(JSON.stringify({ id, v: PROTOCOL_VERSION, op: "ping" }) + "\n"),
      replyId: id,
    };
  return { bytes: Buffer.from(wrongParams(id, r) + "\n"), replyId: id };
}

export interface Replies {
  /** Parsed frames received, in order. */
  frames: { id?: unknown; ok?: unknown; error?: { code?: unknown; message?: unknown } }[];
  notJson: string[];
  closed: boolean;
}

/** A raw connection that collects every reply frame. */
export function openRaw(path: string): Promise<{ socket: Socket; replies: Replies }> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    const replies: Replies = { frames: [], notJson: [], closed: false };
    let pending = "";
    socket.on("data", (d: Buffer) => {
      pending += d.toString("utf8");
      for (let nl = pending.indexOf("\n"); nl >= 0; nl = pending.indexOf("\n")) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        try {
          replies.frames.push(JSON.parse(line) as Replies["frames"][number]);
        } catch {
          replies.notJson.push(line.slice(0, 200));
        }
      }
    });
    socket.on("close", () => (replies.closed = true));
    socket.on("error", () => undefined);
    socket.once("connect", () => resolve({ socket, replies }));
    socket.once("error", reject);
  });
}

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}

/** Problems in the replies: frames that are not JSON, internal errors, missing or extra replies. */
function judge(label: string, replies: Replies, expected: number[]): string[] {
  const problems = replies.notJson.map((t) => `${label}: a reply that is not JSON: ${t}`);
  for (const f of replies.frames) {
    if (typeof f.ok !== "boolean")
      problems.push(`${label}: a reply without "ok": ${JSON.stringify(f).slice(0, 200)}`);
    // A request the daemon could not make sense of is the caller's fault, never an internal error.
    if (f.ok === false && f.error?.code === "EINTERNAL")
      problems.push(`${label}: internal error for a bad request: ${String(f.error.message).slice(0, 200)}`);
  }
  for (const id of expected) {
    const n = replies.frames.filter((f) => f.id === id).length;
    if (n !== 1)
      problems.push(
        `${label}: ${n} replies to request ${id}: ${JSON.stringify(replies.frames.filter((f) => f.id === id)).slice(0, 400)}`,
      );
  }
  return problems;
}

/** Random frames, written in random pieces; every request with an id gets exactly one sound reply. */
export async function fuzzClient(path: string, r: Rng, label: string): Promise<string[]> {
  const { socket, replies } = await openRaw(path);
  const expected: number[] = [];
  const frames: Buffer[] = [];
  for (let i = 1, n = r.int(1, 20); i <= n; i++) {
    const f = randomFrame(i, r);
    frames.push(f.bytes);
    if (f.replyId) expected.push(f.replyId);
  }
  const all = Buffer.concat(frames);
  for (let at = 0; at < all.length;) {
    const n = r.int(1, Math.max(1, all.length >> r.int(0, 4)));
    socket.write(all.subarray(at, at + n));
    at += n;
    if (r.chance(0.3)) await sleep(r.int(0, 20));
  }
  await until(() => expected.every((id) => replies.frames.some((f) => f.id === id)), 10_000);
  await sleep(50); // a duplicate reply would arrive now
  socket.destroy();
  return judge(label, replies, expected);
}

/** Half a frame, then silence until `release` resolves: the daemon must keep serving others. */
export async function halfOpenClient(path: string, r: Rng, release: Promise<void>): Promise<string[]> {
  const line = wrongParams(1, r);
  const half = line.slice(0, r.int(1, line.length - 1));
  const { socket } = await openRaw(path);
  socket.write(half);
  await release;
  socket.destroy();
  return [];
}

/** A ping sent one byte per 100 ms: answered once the newline arrives. */
export async function slowClient(path: string, id: number, label: string): Promise<string[]> {
  const { socket, replies } = await openRaw(path);
  for (const byte of Buffer.from(JSON.stringify({ id, v: PROTOCOL_VERSION, op: "ping" }) + "\n")) {
    socket.write(Buffer.from([byte]));
    await sleep(100);
  }
  await until(() => replies.frames.length > 0, 10_000);
  socket.destroy();
  const problems = judge(label, replies, [id]);
  if (replies.frames[0]?.ok !== true)
    problems.push(`${label}: the slow ping was not answered ok: ${JSON.stringify(replies.frames[0])}`);
  return problems;
}

/** A request (or half of one), then end (half-close) or destroy before the reply, or pipelined pings never read. */
export async function rudeClient(path: string, r: Rng): Promise<string[]> {
  const { socket } = await openRaw(path);
  const kind = r.int(0, 4);
  if (kind === 0) socket.end(wrongParams(1, r) + "\n");
  else if (kind === 4) {
    const line = wrongParams(1, r);
    socket.end(line.slice(0, r.int(1, line.length - 1))); // half a frame, then half-close
  } else if (kind === 1) {
    socket.write(wrongParams(1, r) + "\n");
    socket.destroy();
  } else if (kind === 2) {
    // Requests pipelined without reading a reply: the daemon buffers replies for a client
    // that does not read, so this stays small (and the client goes away after a while).
    socket.write(
      Buffer.from(`${JSON.stringify({ id: 7, v: PROTOCOL_VERSION, op: "ping" })}\n`.repeat(r.int(100, 2000))),
    );
    await sleep(r.int(100, 1000));
    socket.destroy();
  } else socket.destroy();
  return [];
}

/** `n` connections at once, each a ping through the CLI's client: every one answered. */
export async function burst(path: string, n: number, label: string): Promise<string[]> {
  const one = () =>
    new DaemonClient(path).request("ping", {}, { timeoutMs: 20_000 }).then(
      () => [],
      (e: unknown) => [`${label}: burst ping: ${(e as Error).message}`],
    );
  return (await Promise.all(Array.from({ length: n }, one))).flat();
}

/** A frame past the limit: refused with EPROTO and the connection closed. */
export async function oversizeClient(path: string, r: Rng, label: string): Promise<string[]> {
  const { socket, replies } = await openRaw(path);
  socket.write(Buffer.alloc(MAX_FRAME_BYTES + r.int(1, 4096), 0x61));
  const closed = await until(() => replies.closed, 10_000);
  socket.destroy();
  const problems: string[] = [];
  if (!closed) problems.push(`${label}: an oversized frame did not close the connection`);
  if (!replies.frames.some((f) => f.error?.code === "EPROTO"))
    problems.push(`${label}: an oversized frame got no EPROTO reply`);
  return problems;
}
