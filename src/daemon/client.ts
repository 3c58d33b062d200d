// The CLI's side of the socket: one request, its progress events, one reply. A daemon
// error reply becomes the same QuiltError (code, message, hint) it was in the daemon.
// Requests and replies are typed by the operation (ops.ts); replies are not checked again:
// they come from the daemon this CLI started, of the same version.
import { connect, type Socket } from "node:net";
import { QuiltError, errnoCode, isErrorCode } from "../errors.js";
import { FrameReader } from "./frame-reader.js";
import type { Operation, Params, OpProgress, OpReply } from "./ops.js";
import { isReply, MAX_FRAME_BYTES, PROTOCOL_VERSION, type ServerFrame } from "./protocol.js";

export interface RequestOptions<K extends Operation> {
  onProgress?: (d: OpProgress<K>) => void;
  timeoutMs?: number;
}

/** (params, options), where params may be left out when the operation needs none. */
type RequestArgs<K extends Operation> =
  Record<never, never> extends Params<K>
    ? [params?: Params<K>, opts?: RequestOptions<K>]
    : [params: Params<K>, opts?: RequestOptions<K>];

export class DaemonClient {
  private nextId = 1;

  constructor(readonly socketPath: string) {}

  /** Sends one request and waits for its reply. */
  async request<K extends Operation>(op: K, ...[params, opts = {}]: RequestArgs<K>): Promise<OpReply<K>> {
    const socket = await this.connect();
    const id = this.nextId++;
    try {
      return await new Promise<OpReply<K>>((resolve, reject) => {
        const reader = new FrameReader(MAX_FRAME_BYTES);
        const timer = opts.timeoutMs
          ? setTimeout(
              () =>
                reject(
                  new QuiltError(
                    "EUNREACHABLE",
                    `The daemon did not answer ${op} within ${opts.timeoutMs} ms`,
                  ),
                ),
              opts.timeoutMs,
            )
          : undefined;
        const done = (fn: () => void) => {
          if (timer) clearTimeout(timer);
          fn();
        };
        socket.on("data", (chunk: Buffer) => {
          let frames: string[];
          try {
            frames = reader.push(chunk);
          } catch (err) {
            return done(() => reject(err));
          }
          for (const text of frames) {
            let frame: ServerFrame;
            try {
              frame = JSON.parse(text) as ServerFrame;
            } catch {
              return done(() =>
                reject(new QuiltError("EINTERNAL", "The daemon sent a frame that is not JSON")),
              );
            }
            if (frame.id !== id) continue;
            if (!isReply(frame)) {
              opts.onProgress?.(frame.data as OpProgress<K>);
              continue;
            }
            if (frame.ok) done(() => resolve(frame.result as OpReply<K>));
            else {
              // A code this client does not know (EPROTO, or a newer daemon's) is still a failure.
              const code = isErrorCode(frame.error.code) ? frame.error.code : "EINTERNAL";
              done(() =>
                reject(
                  new QuiltError(code, frame.error.message, {
                    ...(frame.error.hint !== undefined && { hint: frame.error.hint }),
                  }),
                ),
              );
            }
          }
        });
        socket.on("close", () =>
          done(() =>
            reject(
              new QuiltError("EUNREACHABLE", `The daemon closed the connection during ${op}`, {
                hint: "see the daemon log (quilt daemon status)",
              }),
            ),
          ),
        );
        socket.on("error", (err) => done(() => reject(err)));
        socket.write(JSON.stringify({ id, v: PROTOCOL_VERSION, op, params: params ?? {} }) + "\n");
      });
    } finally {
      socket.destroy();
    }
  }

  private connect(): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const s = connect(this.socketPath);
      s.once("connect", () => resolve(s));
      s.once("error", (err) => {
        const code = errnoCode(err);
        reject(
          code === "ENOENT" || code === "ECONNREFUSED"
            ? new QuiltError("EUNREACHABLE", "The quilt daemon is not running", {
                hint: "start it with `quilt daemon start` (quilt mount starts it too)",
              })
            : err,
        );
      });
    });
  }
}
