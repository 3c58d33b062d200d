// Progress for work that can take more than a second (install, push-data, verify, cache
// prefetch), on stderr: a redrawn bar when stderr is a terminal, otherwise a plain count
// line at most every few seconds and one at the end, so logs of CI jobs stay readable.
// The library reports two kinds of progress, files and bytes moved or files hashed; a bar
// takes either as its onProgress (onTransfer, onHashing), so no command maps fields itself.
import type { BuildProgress } from "../api/build-manifest.js";
import type { TransferProgress } from "../api/download.js";
import type { Io } from "./io.js";

/** Plain (non-terminal) progress lines are at least this far apart. */
const PLAIN_INTERVAL_MS = 5_000;
/** A terminal bar is redrawn at most this often. */
const TTY_INTERVAL_MS = 100;
const BAR_WIDTH = 24;
/** Progress appears only for work still running after this long. */
const QUIET_FIRST_MS = 1_000;

export interface ProgressState {
  done: number;
  total: number;
  bytesDone?: number;
  bytesTotal?: number;
}

export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

export class Progress {
  private last = 0;
  private drawn = false;
  private state: ProgressState = { done: 0, total: 0 };
  private readonly started = Date.now();
  /** QUILT_PROGRESS_DELAY_MS overrides the quiet first second (0: show at once, for tests and logs). */
  private readonly quietMs = Number(process.env.QUILT_PROGRESS_DELAY_MS ?? QUIET_FIRST_MS);

  constructor(
    private readonly io: Io,
    private readonly label: string,
    private readonly enabled = true,
  ) {}

  /** For downloads, uploads, copies and cache fills: files and bytes. */
  readonly onTransfer = (p: TransferProgress): void =>
    this.update({ done: p.filesDone, total: p.filesTotal, bytesDone: p.bytesDone, bytesTotal: p.bytesTotal });

  /** For building a manifest or checking a directory against one: files hashed. */
  readonly onHashing = (p: BuildProgress): void => this.update({ done: p.filesHashed, total: p.filesToHash });

  update(state: ProgressState): void {
    this.state = state;
    if (!this.enabled) return;
    const now = Date.now();
    // Work that finishes within a second shows no progress at all.
    if (now - this.started < this.quietMs) return;
    if (now - this.last < (this.io.isTty ? TTY_INTERVAL_MS : PLAIN_INTERVAL_MS)) return;
    this.last = now;
    this.draw(false);
  }

  /** Final line (for work that took a second or was shown at all), never the same line twice. */
  finish(): void {
    if (!this.enabled || (!this.drawn && Date.now() - this.started < 1000)) return;
    const text = this.text();
    if (!this.io.isTty && text === this.lastPlain) return;
    this.draw(true);
  }

  private lastPlain = "";

  private text(): string {
    const { done, total, bytesDone, bytesTotal } = this.state;
    const bytes = bytesTotal ? ` ${formatBytes(bytesDone ?? 0)}/${formatBytes(bytesTotal)}` : "";
    return `${done}/${total}${bytes}`;
  }

  private draw(final: boolean): void {
    const { done, total } = this.state;
    if (this.io.isTty) {
      const frac = total > 0 ? Math.min(1, done / total) : 1;
      const filled = Math.round(frac * BAR_WIDTH);
      const bar = "#".repeat(filled) + "-".repeat(BAR_WIDTH - filled);
      this.io.err(`\r${this.label} [${bar}] ${this.text()}${final ? "\n" : ""}`);
    } else {
      this.lastPlain = this.text();
      this.io.err(`${this.label}: ${this.lastPlain}\n`);
    }
    this.drawn = true;
  }
}
