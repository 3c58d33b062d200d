// The faults the test proxy (daemon-proxy.ts) can inject, as data: which requests each
// applies to (keys containing a string, some methods), how many more times, and what it
// does. Kept apart from the proxy's HTTP plumbing so each stays short.

/** A fault recorded on the request it was applied to. */
export type AppliedFault =
  "fail" | "delay" | "hook" | "corrupt" | "truncate" | "stall" | "reset" | "reset-upload" | "fake-attributes";

export interface Limited {
  part: string;
  /** Matching responses left; Infinity until cleared. */
  left: number;
}

/** An error answer instead of the server's (500 InternalError, 503 SlowDown...). */
export interface Failure extends Limited {
  status: number;
  code: string;
  /** Methods it applies to (object-key requests only). */
  methods: readonly string[];
}

export interface Delay extends Limited {
  ms: number;
}

export interface Corruption extends Limited {
  offset: number;
  xor: number;
}

/**
 * What happens to a body after `afterBytes` bytes: truncate (the connection closes cleanly,
 * headers as sent), stall (nothing more is sent, the connection stays open), reset (the
 * connection is reset, RST).
 */
export interface Cut extends Limited {
  afterBytes: number;
  mode: "truncate" | "stall" | "reset";
}

/** A PUT whose connection is reset after the proxy received `afterBytes` bytes of its body. */
export interface UploadReset extends Limited {
  afterBytes: number;
}

/** Takes one use of each matching fault, dropping those used up. */
export function take<T extends Limited>(list: T[], key: string, match: (f: T) => boolean = () => true): T[] {
  const hits = list.filter((f) => key.includes(f.part) && f.left > 0 && match(f));
  for (const f of hits) f.left--;
  for (let i = list.length - 1; i >= 0; i--) if ((list[i] as T).left <= 0) list.splice(i, 1);
  return hits;
}

/** Takes one use of the first matching fault (the next fault of its kind waits for the next request). */
export function takeOne<T extends Limited>(
  list: T[],
  key: string,
  match: (f: T) => boolean = () => true,
): T | undefined {
  const hit = list.find((f) => key.includes(f.part) && f.left > 0 && match(f));
  if (hit === undefined) return undefined;
  hit.left--;
  if (hit.left <= 0) list.splice(list.indexOf(hit), 1);
  return hit;
}

export function checkBytes(what: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${what}: bad byte count ${n}`);
}
