// The thin FUSE shell: with fuse-operations.ts, the only module that imports the binding
// (fuse-napi, libfuse 3's high-level, path-based API, patched and built from source by
// scripts/fuse-binding.mjs). It mounts a QuiltFilesystem whose callbacks fuse-operations.ts
// translates into core calls, and each FsError into the binding's errno constant; all
// decisions live in the core. Binding internals used or replaced on a subclass (the version
// is pinned, and the integration tests mount for real):
//   _fuseOptions        the binding only knows a fixed option list; we need ro and
//                       negative_timeout too, so we pass our own -o string.
//   _close              unmounts with fusermount3 -u first, which refuses a busy mount, where
//                       the binding always detaches lazily; --force leaves it to the binding.
//   _nativeLoopExited   the request loop ends when our own fusermount unmounted the mount:
//                       that is no failure to report.
//   _thread, the native fuse_native_invalidate_entry
//                       the mount's session, for invalidation notices (kernel-invalidate.ts).
import { createRequire } from "node:module";
import { dirname } from "node:path";
import Fuse from "fuse-napi";
import { QuiltError } from "../errors.js";
import { log } from "../log.js";
import type { QuiltFilesystem } from "./filesystem.js";
import { MUTATING_OPS } from "./read-only.js";
import { fuseErrno, operations, type RequestTally } from "./fuse-operations.js";
import {
  checkMountpoint,
  FUSE_MAX_CONCURRENCY,
  mountOptionString,
  type MountOptions,
} from "./mount-options.js";
import { assertFuseAvailable } from "./fuse-available.js";
import { afterInvalidations, FUSE_ROOT_ID, invalidateRootNames, type Notice } from "./kernel-invalidate.js";
import { canonicalMountPath, clearStaleMount, fusermountUnmount, mountAt } from "./mount-table.js";

/** Operations answered from the tree without the reader (and so without I/O). */
const TREE_OPS = ["getattr", "opendir", "readdir", "releasedir", "getxattr", "listxattr", "statfs"] as const;
/** How long a mount may take to answer the kernel's INIT before we give up, ms. */
const MOUNT_TIMEOUT_MS = 15_000;
/** Answers the binding gives by itself when an op overruns; above the core's own read deadline. */
const BINDING_TIMEOUT_MARGIN_MS = 10_000;

export interface MountHandle {
  readonly mountpoint: string;
  readonly tally: Readonly<RequestTally>;
  /** Tells this mount's kernel to forget these root-level names (and everything unused below them). */
  invalidateRootNames(names: Iterable<string>): Promise<{ notices: number }>;
  /** Unmounts; refuses a busy mount unless `force`, which detaches it lazily. Idempotent. */
  unmount(opts?: { force?: boolean }): Promise<void>;
}

export async function mount(
  core: QuiltFilesystem,
  mountpoint: string,
  options: MountOptions = {},
): Promise<MountHandle> {
  const mnt = await canonicalMountPath(mountpoint);
  await assertFuseAvailable();
  await clearStaleMount(mnt);
  await checkMountpoint(mnt, options);
  const tally: RequestTally = { requests: 0, getattrs: 0, readdirs: 0 };
  const fuse = new QuiltFuse(mnt, core, mountOptionString(options), tally);
  try {
    await new Promise<void>((resolve, reject) => fuse.mount((err) => (err ? reject(err) : resolve())));
  } catch (err) {
    await fusermountUnmount(mnt, { lazy: true }).catch(() => undefined);
    throw new QuiltError("ENOFUSE", `Cannot mount on ${mnt}: ${(err as Error).message}`, {
      cause: err,
      hint: "is FUSE available (/dev/fuse, fusermount3) and allowed here (in a container: --device /dev/fuse --cap-add SYS_ADMIN)?",
    });
  }
  let unmounted = false;
  return {
    mountpoint: mnt,
    tally,
    // None once it is unmounting: its session is about to go.
    invalidateRootNames: (names) =>
      invalidateRootNames(names, () => (fuse.unmounting ? undefined : fuse.notice)),
    async unmount(opts = {}) {
      if (unmounted) return;
      fuse.forceUnmount = opts.force === true;
      await new Promise<void>((resolve, reject) => fuse.unmount((err) => (err ? reject(err) : resolve())));
      unmounted = true;
    },
  };
}

interface NativeBinding {
  fuse_native_invalidate_entry(
    thread: Buffer,
    parent: number,
    name: string,
    done: (result: number) => void,
  ): void;
}

let binding: NativeBinding | undefined;

/** The binding's native module: the very object its index.js calls (Node caches an addon by file). */
function nativeBinding(): NativeBinding {
  if (binding) return binding;
  const require = createRequire(import.meta.url);
  const dir = dirname(require.resolve("fuse-napi/package.json"));
  binding = createRequire(`${dir}/index.js`)("./lib/native-binding.js").loadNativeBinding(
    dir,
  ) as NativeBinding;
  return binding;
}

/** The binding's internals this subclass uses (see the header). */
interface FuseInternals {
  _thread: Buffer | null;
  _close(cb: (err: Error | null) => void): void;
  _nativeLoopExited(nativeResult: number): void;
}

class QuiltFuse extends Fuse {
  forceUnmount = false;
  /** Set once unmounting began: no invalidation notice is sent to its session from then on. */
  unmounting = false;

  constructor(
    mnt: string,
    core: QuiltFilesystem,
    private readonly optionString: string,
    tally: RequestTally,
  ) {
    // Operations answered from the tree alone always settle: no timer each (one per lookup).
    const timeout: Fuse.Timeouts = {
      default: core.readTimeoutMs,
      read: core.readTimeoutMs + BINDING_TIMEOUT_MARGIN_MS,
      init: MOUNT_TIMEOUT_MS,
    };
    for (const op of [...TREE_OPS, ...MUTATING_OPS]) timeout[op] = false;
    super(mnt, operations(core, tally), {
      timeout,
      maxConcurrency: FUSE_MAX_CONCURRENCY,
      onError: (err, operation) => log().warn({ err, operation, mountpoint: mnt }, "FUSE binding error"),
    });
  }

  _fuseOptions(): string {
    return this.optionString;
  }

  /** Sends one invalidation notice on this mount's session (undefined before it is mounted). */
  get notice(): Notice | undefined {
    const thread = (this as unknown as FuseInternals)._thread;
    if (thread === null) return undefined;
    return (name) =>
      new Promise((resolve) => {
        try {
          nativeBinding().fuse_native_invalidate_entry(thread, FUSE_ROOT_ID, name, resolve);
        } catch (err) {
          log().warn({ err, name }, "could not queue a FUSE invalidation notice");
          resolve(fuseErrno(err));
        }
      });
  }

  _nativeLoopExited(nativeResult: number): void {
    if (this.unmounting) return;
    (Fuse.prototype as unknown as FuseInternals)._nativeLoopExited.call(this, nativeResult);
  }

  _close(cb: (err: Error | null) => void): void {
    // Someone may have unmounted it from outside already (fusermount -u): then only the
    // binding's cleanup is left to do. No invalidation notice may be on its way when it closes.
    this.unmounting = true;
    const close = (Fuse.prototype as unknown as FuseInternals)._close.bind(this);
    afterInvalidations()
      .then(() => mountAt(this.mnt))
      .then((m) => (m === undefined || this.forceUnmount ? undefined : fusermountUnmount(this.mnt)))
      .then(
        () => close(cb),
        (err: Error) => {
          // Refused (busy): still mounted, and a switch must still reach its kernel.
          this.unmounting = false;
          cb(err);
        },
      );
  }
}
