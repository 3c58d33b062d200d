// Failure injection for the in-memory store: a fault is described the way a test thinks
// of it ("503", "ECONNRESET", "ESTALE") and turned into an error shaped exactly like the one
// the AWS SDK or Node would throw, so it meets the same retry classification as real ones.
// Which requests meet a fault (the next few of an operation, or those a predicate picks) is
// kept here too (InjectedFaults), apart from the store's buckets.
import { QuiltError, type ErrorCode } from "../errors.js";

export type StoreOp = "get" | "head" | "put" | "list" | "delete" | "copy";

/**
 * An injected failure: an Error (thrown as is); an HTTP status such as 503; a QuiltError code
 * such as "ESTALE" (thrown as that QuiltError); a Node socket code such as "ECONNRESET",
 * "ECONNREFUSED" or "ETIMEDOUT"; or an S3 error name such as "SlowDown" or "InternalError".
 */
export type Fault = Error | number | string;

/** What a failWhen predicate sees: one request (attempt) about to be served. */
export interface FaultRequest {
  op: StoreOp;
  bucket: string;
  key: string;
  attempt: number;
}

const QUILT_CODES = new Set<string>([
  "EBADMANIFEST",
  "EBADKEY",
  "EBADSPEC",
  "EHASHMISMATCH",
  "ENOTFOUND",
  "EAMBIGUOUS",
  "EUNREACHABLE",
  "ESTORAGE",
  "ESTALE",
  "EUSAGE",
  "EINTERNAL",
] satisfies ErrorCode[]);

/** Builds an error shaped like the one the SDK or Node would throw for this fault. */
export function faultError(fault: Fault): Error {
  if (fault instanceof Error) return fault;
  if (typeof fault === "number") {
    const name = {
      500: "InternalError",
      503: "ServiceUnavailable",
      404: "NotFound",
      412: "PreconditionFailed",
    }[fault];
    return Object.assign(new Error(`injected HTTP ${fault}`), {
      name: name ?? `Http${fault}`,
      $metadata: { httpStatusCode: fault },
    });
  }
  if (QUILT_CODES.has(fault)) return new QuiltError(fault as ErrorCode, `injected ${fault}`);
  if (/^E[A-Z_]+$/.test(fault)) {
    const message = fault === "ECONNRESET" ? "socket hang up" : `injected ${fault}`;
    return Object.assign(new Error(message), { code: fault });
  }
  const status =
    fault === "SlowDown" || fault === "ServiceUnavailable" ? 503 : fault === "InternalError" ? 500 : 400;
  return Object.assign(new Error(`injected ${fault}`), {
    name: fault,
    Code: fault,
    $metadata: { httpStatusCode: status },
  });
}

/** The faults a test asked for: the next requests of an operation, and predicates offered every request. */
export class InjectedFaults {
  private readonly pending: { op: StoreOp; fault: Fault; left: number }[] = [];
  private readonly predicates = new Set<(req: FaultRequest) => Fault | undefined>();

  /** The next `times` requests of `op` fail with `fault` (each retry attempt consumes one). */
  failNext(op: StoreOp, fault: Fault, times: number): void {
    this.pending.push({ op, fault, left: times });
  }

  /** Every request is offered to `predicate`; a returned fault fails it. Returns an unregister function. */
  failWhen(predicate: (req: FaultRequest) => Fault | undefined): () => void {
    this.predicates.add(predicate);
    return () => this.predicates.delete(predicate);
  }

  /** The fault this request (attempt) meets, if any: a queued one first, then the predicates'. */
  take(req: FaultRequest): Fault | undefined {
    const i = this.pending.findIndex((p) => p.op === req.op);
    const next = this.pending[i];
    if (next) {
      if (--next.left <= 0) this.pending.splice(i, 1);
      return next.fault;
    }
    for (const predicate of this.predicates) {
      const fault = predicate(req);
      if (fault !== undefined) return fault;
    }
    return undefined;
  }
}
