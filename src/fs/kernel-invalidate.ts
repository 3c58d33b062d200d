// After a version switch the kernel still holds what it learned of the old version: dentries
// and attributes, kept for KERNEL_CACHE_SECONDS (an hour), so a file whose size changed would
// be opened with its old size. So the mount tells its kernel to forget every name under the
// root (FUSE_NOTIFY_INVAL_ENTRY: the kernel drops each of those dentries and every unused one
// below it, and the next lookup of any path asks us again and takes the new attributes), and
// the root's own attributes and cached pages (FUSE_NOTIFY_INVAL_INODE on the root, the one
// inode number of libfuse's we know: FUSE_ROOT_ID).
//
// The binding writes the notices on its own session, so they reach this mount's kernel only,
// from a native thread of its own: the kernel takes the directory's lock to invalidate, and a
// lookup holding it may be waiting for the event loop to answer, which never waits here. Its
// queue is bounded, so a few notices are in flight at a time. The sender is asked for when
// the notices go out, so a mount that started closing meanwhile gets none; unmounts wait for
// pending notices (afterInvalidations).
import { log } from "../log.js";

/** FUSE_ROOT_ID: libfuse's node number of the root (the parent of every root-level name). */
export const FUSE_ROOT_ID = 1;
/** The name that asks for the parent's own attributes and pages instead (our patch of the binding). */
export const SELF = ".";
/** Notices in flight at once (the binding queues at most 1024). */
const IN_FLIGHT = 64;
/** The binding's answer when the kernel had nothing cached under a name. */
const ENOENT = -2;

/** Sends one notice about `name` under the root; resolves to 0 or a negative errno. */
export type Notice = (name: string) => Promise<number>;

let pending: Promise<unknown> = Promise.resolve();

/** Resolves once no invalidation is on its way to a mount's kernel. */
export function afterInvalidations(): Promise<void> {
  return pending.then(
    () => undefined,
    () => undefined,
  );
}

/** The kernel forgets the dentries of these root-level names and the root's attributes; `sender` is undefined once the mount closes. */
export function invalidateRootNames(
  names: Iterable<string>,
  sender: () => Notice | undefined,
): Promise<{ notices: number }> {
  const all = [SELF, ...names];
  const run = pending.then(() => {
    const send = sender();
    return send === undefined ? { notices: 0 } : sendAll(all, send);
  });
  pending = run.catch(() => undefined);
  return run;
}

async function sendAll(names: string[], send: Notice): Promise<{ notices: number }> {
  let notices = 0;
  let refused: number | undefined;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < names.length && refused === undefined) {
      const result = await send(names[next++] as string);
      if (result === 0) notices++;
      else if (result !== ENOENT) refused = result;
    }
  };
  await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, names.length) }, worker));
  if (refused !== undefined) log().warn({ errno: refused }, "the kernel refused a FUSE invalidation notice");
  return { notices };
}
