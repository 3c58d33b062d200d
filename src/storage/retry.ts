// Bounded retries with exponential backoff and full jitter, shared by the S3 store (real
// transient failures) and the memory store (injected ones), so a test against memory sees
// the same retry behaviour as production against S3. Knows error *shapes* (an HTTP status
// in `$metadata`, a Node `code`), never imports the AWS SDK.
import { QuiltError } from "../errors.js";

export interface RetryPolicy {
  /** Total attempts including the first. */
  maxAttempts: number;
  /** Backoff before attempt n+1 is uniform in [0, min(maxDelayMs, baseDelayMs * 2^(n-1))). */
  baseDelayMs: number;
  maxDelayMs: number;
}

/**
 * 5 attempts spaced by full-jitter backoff from 100 ms, capped at 5 s: the AWS guidance for
 * S3 503 SlowDown, and it rides out a dropped connection or a server restart of a few seconds
 * while failing a dead endpoint within ~1.5 s on average.
 */
export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 5_000 };

/** transient: worth another attempt; unreachable: no connection at all (also retried); fatal: never retried. */
export type FailureKind = "transient" | "unreachable" | "fatal";

const TRANSIENT_STATUS = new Set([408, 429, 500, 502, 503, 504]);
const TRANSIENT_NAMES = new Set([
  "SlowDown",
  "Throttling",
  "ThrottlingException",
  "ThrottledException",
  "TooManyRequestsException",
  "RequestLimitExceeded",
  "RequestThrottled",
  "RequestThrottledException",
  "BandwidthLimitExceeded",
  "InternalError",
  "ServiceUnavailable",
  "RequestTimeout",
  "RequestTimeoutException",
]);
const TRANSIENT_CODES = new Set([
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "ESOCKETTIMEDOUT",
  "ECONNABORTED",
  "ERR_STREAM_PREMATURE_CLOSE",
  "UND_ERR_SOCKET",
]);
const UNREACHABLE_CODES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EHOSTDOWN",
]);

interface ErrorShape {
  name?: unknown;
  code?: unknown;
  Code?: unknown;
  message?: unknown;
  cause?: unknown;
  $metadata?: { httpStatusCode?: unknown };
  $retryable?: unknown;
}

/** The HTTP status carried by an SDK error (`$metadata.httpStatusCode`), if any. */
export function httpStatusOf(err: unknown): number | undefined {
  const status = (err as ErrorShape | null)?.$metadata?.httpStatusCode;
  return typeof status === "number" ? status : undefined;
}

/** The service error name (`NoSuchKey`, `SlowDown`, ...) or Node error code (`ECONNRESET`). */
export function errorNameOf(err: unknown): string | undefined {
  const e = err as ErrorShape | null;
  for (const v of [e?.Code, e?.code, e?.name]) if (typeof v === "string" && v !== "Error") return v;
  return undefined;
}

export function classifyFailure(err: unknown): FailureKind {
  if (typeof err !== "object" || err === null) return "fatal";
  if (err instanceof QuiltError) return "fatal";
  const e = err as ErrorShape;
  const name = typeof e.name === "string" ? e.name : "";
  if (name === "AbortError") return "fatal";
  const code = typeof e.code === "string" ? e.code : "";
  if (UNREACHABLE_CODES.has(code)) return "unreachable";
  const message = typeof e.message === "string" ? e.message : "";
  // @smithy/node-http-handler's connect timeout: the server never answered the SYN.
  if (name === "TimeoutError" && message.includes("did not establish a connection")) return "unreachable";
  if (
    TRANSIENT_CODES.has(code) ||
    name === "TimeoutError" ||
    /socket hang up|ECONNRESET|EPIPE/.test(message)
  ) {
    return "transient";
  }
  const status = httpStatusOf(err);
  if (status !== undefined && TRANSIENT_STATUS.has(status)) return "transient";
  if (TRANSIENT_NAMES.has(name) || (typeof e.Code === "string" && TRANSIENT_NAMES.has(e.Code)))
    return "transient";
  // The SDK marks throttling and clock-skew errors it knows to be safe to repeat.
  if (e.$retryable !== undefined && e.$retryable !== null && e.$retryable !== false) return "transient";
  // Errors the SDK throws while reading a body can wrap the socket error.
  if (e.cause !== undefined && e.cause !== err) {
    const inner = classifyFailure(e.cause);
    if (inner !== "fatal") return inner;
  }
  return "fatal";
}

/** Delay before the next attempt after `attempt` attempts failed (1-based): full jitter. */
export function backoffDelayMs(
  policy: RetryPolicy,
  attempt: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.floor(random() * ceiling);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason ?? new Error("aborted"));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Thrown by withRetry when every attempt failed; `cause` is the last error. */
export class RetriesExhausted extends Error {
  readonly attempts: number;
  readonly kind: FailureKind;
  constructor(cause: unknown, attempts: number, kind: FailureKind) {
    super(`failed after ${attempts} attempt${attempts === 1 ? "" : "s"}: ${describeError(cause)}`, { cause });
    this.name = "RetriesExhausted";
    this.attempts = attempts;
    this.kind = kind;
  }
}

/**
 * Runs `fn` until it succeeds, a fatal error occurs (rethrown as is) or the attempts run out
 * (RetriesExhausted wrapping the last error). `onRetry` sees each retried error.
 */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  policy: RetryPolicy,
  opts: { signal?: AbortSignal; onRetry?: (err: unknown, attempt: number) => void } = {},
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      const kind = classifyFailure(err);
      if (kind === "fatal" || opts.signal?.aborted) throw err;
      if (attempt >= policy.maxAttempts) throw new RetriesExhausted(err, attempt, kind);
      opts.onRetry?.(err, attempt);
      await sleep(backoffDelayMs(policy, attempt), opts.signal);
    }
  }
}

export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const name = errorNameOf(err);
    const status = httpStatusOf(err);
    const prefix = [name, status].filter((x) => x !== undefined).join(" ");
    return prefix && !err.message.includes(prefix) ? `${prefix}: ${err.message}` : err.message;
  }
  return String(err);
}

/** Where a store talks to, for error messages and hints. */
export interface EndpointInfo {
  /** e.g. "http://127.0.0.1:5000" or "https://s3.us-east-1.amazonaws.com". */
  url: string;
  /** What to check when it cannot be reached. */
  hint: string;
}

/** Maps an exhausted retry to EUNREACHABLE (no connection) or ESTORAGE (the server kept failing). */
export function exhaustedToQuiltError(
  err: RetriesExhausted,
  what: string,
  endpoint: EndpointInfo,
): QuiltError {
  if (err.kind === "unreachable") {
    return new QuiltError("EUNREACHABLE", `${what}: cannot reach ${endpoint.url} (${err.message})`, {
      hint: endpoint.hint,
      cause: err,
    });
  }
  const hint = isTimeout(err.cause)
    ? `The storage service at ${endpoint.url} stopped sending bytes; check the network and the endpoint, ` +
      "or on a slow link raise QUILT_S3_IDLE_TIMEOUT (seconds)."
    : `The storage service at ${endpoint.url} kept failing; try again later.`;
  return new QuiltError("ESTORAGE", `${what}: ${err.message}`, { hint, cause: err });
}

/** A request this side gave up waiting for (an idle or connect timeout, ours or the SDK's). */
export function isTimeout(err: unknown): boolean {
  const e = err as ErrorShape | null;
  return (
    typeof e === "object" &&
    e !== null &&
    (e.name === "TimeoutError" || e.code === "ETIMEDOUT" || e.code === "ESOCKETTIMEDOUT")
  );
}
