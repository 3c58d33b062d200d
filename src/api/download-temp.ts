// The temporary names a download writes a file under before renaming it into place, and how
// a later download tells a dead one's leftovers from a live one's work in progress.
import { createHash, randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { basename, dirname, join } from "node:path";
import { errnoCode } from "../errors.js";

// A random tag per process and a counter (unique without a getrandom call per file), then
// the host and pid of the writer, so the next download on this host can see at once that
// the writer is dead instead of waiting for its file to go stale.
const TEMP_TAG = randomBytes(6).toString("hex");
const HOST_TAG = createHash("sha256").update(hostname()).digest("hex").slice(0, 4);
let tempCounter = 0;

/** Most file systems refuse a name longer than this many bytes (ENAMETOOLONG). */
const NAME_MAX_BYTES = 255;

export function tempPathFor(dest: string): string {
  const suffix = `.${TEMP_TAG}-${(tempCounter++).toString(36)}.${HOST_TAG}-${process.pid}.quilt-tmp`;
  // A legal final name near the limit must not fail because its temp name is longer.
  return join(dirname(dest), `.${truncateUtf8(basename(dest), NAME_MAX_BYTES - 1 - suffix.length)}${suffix}`);
}

function truncateUtf8(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text);
  if (bytes.length <= maxBytes) return text;
  let end = maxBytes;
  while (end > 0 && ((bytes[end] as number) & 0xc0) === 0x80) end--; // not inside a character
  return bytes.subarray(0, end).toString();
}

// Also matches the names of earlier versions, which carried no host and pid.
const TEMP_NAME = /^\..+\.([0-9a-f]{12})-[0-9a-z]+(?:\.([0-9a-f]{4})-(\d+))?\.quilt-tmp$/;

/**
 * A file name a download writes before renaming it into place. One left behind by a killed
 * install is neither a package file nor an extra file of the user's: verify ignores it, and
 * install and force-match remove it.
 */
export function isDownloadTemp(name: string): boolean {
  return TEMP_NAME.test(name);
}

/** A temp name this process would not be writing now (it belongs to another, maybe dead, process). */
export function isForeignDownloadTemp(name: string): boolean {
  const m = TEMP_NAME.exec(name);
  return m !== null && m[1] !== TEMP_TAG;
}

/**
 * A download writing now touches its temporary file every few milliseconds; one untouched
 * for this long belongs to a download that died, wherever it ran.
 */
const STALE_TEMP_MS = 60_000;

/** Whether another process's temp file is a dead download's: its writer is gone from this host, or it has not been touched for a minute. */
export function isDeadDownloadTemp(name: string, mtimeMs: number, now = Date.now()): boolean {
  const m = TEMP_NAME.exec(name);
  if (m === null || m[1] === TEMP_TAG) return false;
  if (now - mtimeMs > STALE_TEMP_MS) return true;
  return m[2] === HOST_TAG && !processAlive(Number(m[3]));
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoCode(err) === "EPERM"; // alive, another user's
  }
}
