// What a command handler gets: where to write (so commands run in-process in tests) and
// the global options every command understands.
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** True when stderr is a terminal (progress bars only then). */
  isTty: boolean;
}

export const processIo: Io = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  isTty: Boolean(process.stderr.isTTY),
};

export interface GlobalArgs {
  verbose: boolean;
  json: boolean;
  registry?: string;
}

export interface CommandContext {
  io: Io;
  /** Set by a handler: the exit status when it returns normally (e.g. 1 for a difference). */
  exitCode: number;
}
