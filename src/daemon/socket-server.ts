// The daemon's side of the socket: a Unix socket in a 0700 directory, mode 0600, so only
// the owning user can talk to it. Every frame is validated; a handler's failure becomes an
// error reply; a malformed, truncated or oversized frame gets an error reply or a closed
// connection. Nothing a client sends can crash the daemon.
import { createHash } from "node:crypto";
import { chmod, mkdir, rm } from "node:fs/promises";
import { connect, createServer, type Server, type Socket } from "node:net";
import { dirname, resolve as resolvePath } from "node:path";
import { errnoCode, QuiltError } from "../errors.js";
import { log } from "../log.js";
import { asQuiltError } from "../os-errors.js";
import { FrameReader, FrameTooLarge } from "./frame-reader.js";
import { checkParams, type Operation, type Params, type OpProgress, type OpReply } from "./ops.js";
import {
  MAX_FRAME_BYTES,
  requestProblem,
  type Reply,
  type Request,
  type ServerFrame,
  type WireError,
} from "./protocol.js";

export interface HandlerContext<K extends Operation> {
  /** Sends a progress event for this request (dropped if the client has gone). */
  progress(data: OpProgress<K>): void;
  signal: AbortSignal;
}

/** Serves one operation: its params were checked against its schema before the call. */
export type Handler<K extends Operation> = (params: Params<K>, ctx: HandlerContext<K>) => Promise<OpReply<K>>;

export type Handlers = { [K in Operation]: Handler<K> };

/**
 * Per connection, at most this many requests are handled at once; past it, or while more
 * than a frame's worth of replies waits for the client to read, the daemon stops reading
 * from that client. A client that pipelines requests without reading replies so costs a
 * bounded amount of memory (64 MiB of pings made the daemon hold 530 MiB of replies).
 */
export const MAX_IN_FLIGHT = 64;

/** Any error as the reply carries it: the same code, message and hint the CLI prints. */
export function toWireError(err: unknown): WireError {
  const e = asQuiltError(
    err,
    "this is a bug in the quilt daemon: please report it with the daemon's log (logs/daemon.log in the state directory)",
  );
  return { code: e.code, message: e.message, ...(e.hint !== undefined && { hint: e.hint }) };
}

export class SocketServer {
  private server: Server | undefined;
  /** The daemon's lock (lock-socket below), held while this server is open. */
  private lock: Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(
    readonly path: string,
    private readonly handlers: Partial<Handlers>,
  ) {}

  async open(): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    await chmod(dirname(this.path), 0o700);
    this.lock = await takeLock(this.path);
    try {
      const server = createServer((socket) => this.accept(socket));
      try {
        await listen(server, this.path);
      } catch (err) {
        if (errnoCode(err) !== "EADDRINUSE") throw err;
        // Holding the lock, a socket file nobody answers on was left by a crashed daemon and
        // is replaced (the check stays for a daemon of a version without the lock).
        if (await answers(this.path))
          throw new QuiltError("EBUSY", `A quilt daemon is already listening on ${this.path}`, {
            hint: "quilt daemon status",
          });
        await rm(this.path, { force: true });
        await listen(server, this.path);
      }
      await chmod(this.path, 0o600);
      server.on("error", (err) => log().error({ err }, "socket server error"));
      this.server = server;
    } catch (err) {
      const lock = this.lock;
      this.lock = undefined;
      lock.close();
      throw err;
    }
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    const reader = new FrameReader(MAX_FRAME_BYTES);
    const aborter = new AbortController();
    const send = (frame: ServerFrame) => {
      if (!socket.destroyed && socket.writable) socket.write(JSON.stringify(frame) + "\n");
    };
    let inFlight = 0;
    // Reading resumes once replies drain and handlers finish (see MAX_IN_FLIGHT).
    const throttle = () => {
      if (socket.destroyed) return;
      const busy = inFlight >= MAX_IN_FLIGHT || socket.writableLength > MAX_FRAME_BYTES;
      if (busy && !socket.isPaused()) socket.pause();
      else if (!busy && socket.isPaused()) socket.resume();
    };
    socket.on("drain", throttle);
    socket.on("data", (chunk: Buffer) => {
      let frames: string[];
      try {
        frames = reader.push(chunk);
      } catch (err) {
        if (err instanceof FrameTooLarge)
          send({ id: 0, ok: false, error: { code: "EPROTO", message: err.message } });
        socket.end();
        return;
      }
      for (const f of frames) {
        inFlight++;
        void this.handle(f, send, aborter.signal).finally(() => {
          inFlight--;
          throttle();
        });
      }
      throttle();
    });
    socket.on("error", () => socket.destroy());
    socket.on("close", () => {
      aborter.abort();
      this.sockets.delete(socket);
    });
  }

  private async handle(text: string, send: (f: ServerFrame) => void, signal: AbortSignal): Promise<void> {
    let req: Request;
    try {
      const parsed: unknown = JSON.parse(text);
      const problem = requestProblem(parsed);
      const id = typeof (parsed as { id?: unknown })?.id === "number" ? (parsed as { id: number }).id : 0;
      if (problem) return send({ id, ok: false, error: { code: "EPROTO", message: problem } });
      req = parsed as Request;
    } catch {
      return send({
        id: 0,
        ok: false,
        error: { code: "EPROTO", message: "a request must be one line of JSON" },
      });
    }
    let reply: Reply;
    try {
      const result = await this.dispatch(req.op, req.params ?? {}, {
        progress: (data) => send({ id: req.id, event: "progress", data }),
        signal,
      });
      reply = { id: req.id, ok: true, result: result ?? null };
    } catch (err) {
      if (!(err instanceof QuiltError)) log().error({ err, op: req.op }, "request failed");
      reply = { id: req.id, ok: false, error: toWireError(err) };
    }
    send(reply);
  }

  /** The one place a request's params are checked: a handler only sees its declared shape. */
  private async dispatch<K extends Operation>(
    op: K,
    params: Record<string, unknown>,
    ctx: HandlerContext<K>,
  ): Promise<OpReply<K>> {
    const handler = this.handlers[op];
    if (!handler) throw new QuiltError("EUSAGE", `operation ${op} is not available`);
    return handler(checkParams(op, params), ctx);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    const lock = this.lock;
    this.lock = undefined;
    if (lock) await new Promise<void>((resolve) => lock.close(() => resolve()));
    await rm(this.path, { force: true });
  }
}

function listen(server: Server, path: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once("error", onError);
    server.listen(path, () => {
      server.off("error", onError);
      resolve();
    });
  });
}

/** Does a server accept connections on the socket at `path`? */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

/**
 * One daemon per socket path, held by the kernel rather than guessed from a pid file: a
 * listening socket in Linux's abstract namespace (a name, no file) derived from the socket's
 * path. The kernel frees it the moment its process dies, however it dies, so there is never
 * a stale lock to judge, and two daemons starting at once cannot both pass. (Abstract names
 * are per network namespace: daemons in separate ones sharing a state directory are not
 * seen, which is not a configuration this supports.)
 */
async function takeLock(socketPath: string): Promise<Server> {
  const name = `\0quilt-daemon-${createHash("sha256").update(resolvePath(socketPath)).digest("hex").slice(0, 32)}`;
  const lock = createServer((s) => s.destroy());
  try {
    await listen(lock, name);
  } catch (err) {
    if (errnoCode(err) !== "EADDRINUSE") throw err;
    throw new QuiltError("EBUSY", `A quilt daemon is already running for ${socketPath}`, {
      hint: "quilt daemon status; stop it with quilt daemon stop",
    });
  }
  return lock;
}
