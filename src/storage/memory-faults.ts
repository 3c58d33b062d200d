// Failure injection for the in-memory store: a fault is described the way a test thinks
// of it ("503", "ECONNRESET", "ESTALE") and turned into an error shaped exactly like the one
// the AWS SDK or Node would throw, so it meets the same retry classification as real ones.
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
