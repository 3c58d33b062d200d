// What the retry layer rode out for one consumer (a mount), by kind, so `quilt mounts
// --json` can show that a read which succeeded needed retries, and why: timeouts (the
// server went silent), throttling (503 SlowDown, 429), resets (a connection dropped or a
// body cut short), other server errors (5xx), and requests that failed after every attempt.
import { isQuiltError } from "../errors.js";
import { classifyFailure, errorNameOf, httpStatusOf, isTimeout } from "./retry.js";

export interface FaultCounts {
  /** Attempts that failed and were tried again. */
  retries: number;
  /** Of those: no connection or no byte within the timeouts. */
  timeouts: number;
  /** Of those: the server asked to slow down (503 SlowDown, 429, throttling errors). */
  throttled: number;
  /** Of those: the connection was reset or closed before the body was complete. */
  resets: number;
  /** Of those: other server errors (500, 502, 504...). */
  serverErrors: number;
  /** Requests that failed after their last attempt (a storage error reached the reader). */
  gaveUp: number;
}

export function emptyFaultCounts(): FaultCounts {
  return { retries: 0, timeouts: 0, throttled: 0, resets: 0, serverErrors: 0, gaveUp: 0 };
}

const THROTTLE_NAMES = /SlowDown|Throttl|TooManyRequests|RequestLimitExceeded|BandwidthLimitExceeded/;

export class FaultCounter {
  readonly counts = emptyFaultCounts();

  /** One failed attempt that the retry layer will repeat. */
  retried(err: unknown): void {
    this.counts.retries++;
    const status = httpStatusOf(err);
    if (isTimeout(err)) this.counts.timeouts++;
    else if (status === 429 || THROTTLE_NAMES.test(errorNameOf(err) ?? "")) this.counts.throttled++;
    else if (status !== undefined && status >= 500) this.counts.serverErrors++;
    else if (classifyFailure(err) !== "fatal") this.counts.resets++;
  }

  /** A request that failed for good: counted when it is a storage failure (not a missing or changed object). */
  failed(err: unknown): void {
    if (isQuiltError(err, "ESTORAGE") || isQuiltError(err, "EUNREACHABLE")) this.counts.gaveUp++;
  }

  snapshot(): FaultCounts {
    return { ...this.counts };
  }
}
