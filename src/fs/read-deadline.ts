// A deadline on each read through the mount, so a storage that stays silent surfaces as an
// error to the reading program instead of a process stuck in uninterruptible sleep.
import { FsError } from "./fs-errors.js";

/**
 * 60 s: long enough for a fetch that retries a few stalls (each attempt gives up after the
 * S3 idle timeout, 15 s by default), short enough that a storage that stays silent surfaces
 * as ETIMEDOUT instead of a training process stuck in uninterruptible sleep; the read's own
 * fetch is aborted then.
 */
export const READ_TIMEOUT_MS = 60_000;

/**
 * Runs a read with a deadline. Past it the reader gets ETIMEDOUT and the read's signal is
 * aborted, so its fetch stops too (a fetch other readers wait on goes on for them): a
 * reader that gave up leaves no work behind in the daemon. The kernel's own interrupt of a
 * read (a reader killed by Ctrl-C) does not reach us (the FUSE binding has no interrupt
 * callback), so this deadline is also what bounds the work of a reader that went away.
 */
export async function withDeadline<T>(
  run: (signal: AbortSignal) => Promise<T>,
  timeoutMs: number,
  path: string,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const abort = new AbortController();
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new FsError("ETIMEDOUT", "read", path));
      abort.abort(new FsError("ETIMEDOUT", "read", path));
    }, timeoutMs);
  });
  const work = run(abort.signal);
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
    work.catch(() => undefined); // a read that lost the race must not become an unhandled rejection
  }
}
