// Where a command writes: the process's stdout and stderr, or (in tests) buffers, so that
// commands run in-process. Its own file because both the command context and the progress
// bars write through it.
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** Raw bytes on stdout (`quilt cat`): written as they are, never decoded. */
  outBytes(bytes: Buffer): Promise<void> | void;
  /** True when stderr is a terminal (progress bars only then). */
  isTty: boolean;
}

export const processIo: Io = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  // Waits for a full pipe to drain, so a large file streams instead of piling up in memory.
  outBytes: (b) =>
    new Promise<void>((resolve, reject) => {
      process.stdout.write(b, (err) => (err ? reject(err) : resolve()));
    }),
  isTty: Boolean(process.stderr.isTTY),
};
