// One pino logger for the process. Library code logs through `log()`; it is silent until
// the CLI or the daemon points it at a log file (never at stdout, which belongs to the
// command's output). QUILT_LOG_LEVEL or --verbose raises the level.
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import pino, { type Logger } from "pino";

let current: Logger = pino({ level: "silent" });

export function log(): Logger {
  return current;
}

export interface LogOptions {
  file: string;
  level?: string;
}

export function configureLogging(opts: LogOptions): Logger {
  // Logs sit in the private state directory (src/private-dir.ts): created 0700 when missing.
  mkdirSync(dirname(opts.file), { recursive: true, mode: 0o700 });
  const level = opts.level ?? process.env.QUILT_LOG_LEVEL ?? "info";
  current = pino({ level }, pino.destination({ dest: opts.file, sync: false, mkdir: true }));
  return current;
}

/** Flushes buffered log lines before exit. */
export function flushLogging(): void {
  const flush = (current as Logger & { flush?: (cb?: () => void) => void }).flush;
  try {
    flush?.call(current);
  } catch {
    // a logger that was never opened has nothing to flush
  }
}
