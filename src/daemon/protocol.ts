// The daemon's local socket protocol: newline-delimited JSON, one request per line with
// an id and the protocol version, one reply per request with the same id, and progress
// events for long operations (verify, force-match) before the reply. Frames are bounded so
// a client can never make the daemon buffer without limit. This file is the envelope; what
// each operation carries and answers is in ops.ts.
import type { ErrorCode } from "../errors.js";
import { isOperation, type Operation } from "./ops.js";

export const PROTOCOL_VERSION = 1;
/** Largest frame either side accepts (1 MiB): requests are small; replies list mounts and differences. */
export const MAX_FRAME_BYTES = 1024 * 1024;

/** A request as it arrives: its params are not checked yet (ops.ts checkParams does that). */
export interface Request {
  id: number;
  v: number;
  op: Operation;
  params?: Record<string, unknown>;
}

export interface WireError {
  code: ErrorCode | "EPROTO";
  message: string;
  hint?: string;
}

/** `result` is the operation's Reply (ops.ts); the envelope does not know which operation it answers. */
export type Reply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: WireError };

export interface ProgressEvent {
  id: number;
  event: "progress";
  /** The operation's Progress (ops.ts). */
  data: unknown;
}

export type ServerFrame = Reply | ProgressEvent;

export function isReply(f: ServerFrame): f is Reply {
  return "ok" in f;
}

/** Validates a parsed request frame; returns the problem, or null when it is well formed. */
export function requestProblem(v: unknown): string | null {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return "a request must be a JSON object";
  const r = v as Partial<Record<keyof Request, unknown>>;
  if (typeof r.id !== "number" || !Number.isSafeInteger(r.id)) return 'a request needs an integer "id"';
  if (r.v !== PROTOCOL_VERSION)
    return `unsupported protocol version ${JSON.stringify(r.v)} (this daemon speaks ${PROTOCOL_VERSION})`;
  if (!isOperation(r.op)) return `unknown operation ${JSON.stringify(r.op)}`;
  if (
    r.params !== undefined &&
    (typeof r.params !== "object" || r.params === null || Array.isArray(r.params))
  )
    return '"params" must be an object';
  return null;
}
