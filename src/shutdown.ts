// Process-wide resources a command's end releases (the hash pool's threads), registered by
// the module that starts them: the CLI's exit path then imports none of them, so a command
// that never hashed does not load the hashing code (and its CRC64 package) just to close it.
const closers = new Set<() => Promise<void>>();

/** Registers `close` to run at shutdown() (once per function, however often it is registered). */
export function onShutdown(close: () => Promise<void>): void {
  closers.add(close);
}

/** Runs every registered close, in registration order, and forgets them. */
export async function shutdown(): Promise<void> {
  const all = [...closers];
  closers.clear();
  for (const close of all) await close();
}
