// The thin FUSE shell: with fuse-operations.ts, the only module that imports the binding
// (@cocalc/fuse-native, a libfuse 2 high-level, path-based API). It mounts a QuiltFilesystem
// whose callbacks fuse-operations.ts translates into core calls, and each FsError into the
// binding's errno constant; all decisions live in the core. Three binding internals are replaced on a subclass (the
// version is pinned, and the integration tests mount for real):
//   _fuseOptions   the binding only knows a fixed option list; we need ro, use_ino and
//                  negative_timeout too, so we pass our own -o string.
//   _op_getxattr,
//   _op_listxattr  the binding neither tells the handler the caller's buffer size nor
//                  answers ERANGE, which Python's os.getxattr relies on for values over
//                  128 bytes.
//   _close         unmounts with fusermount -u (busy mounts are refused) or -uz (--force),
//                  where the binding always detaches lazily.
import FuseImport from "@cocalc/fuse-native";
import { QuiltError } from "../errors.js";
import type { QuiltFilesystem } from "./filesystem.js";
import { MUTATING_OPS } from "./read-only.js";
import { fitBuffer, fuseErrno, operations, type RequestTally } from "./fuse-operations.js";
import { checkMountpoint, mountOptionString, type MountOptions } from "./mount-options.js";
import { assertFuseAvailable } from "./fuse-available.js";
import { mountDescriptor, nativeBinding, recordMountDescriptors } from "./fuse-device.js";
import { afterInvalidations, invalidateRootNames } from "./kernel-invalidate.js";
import { canonicalMountPath, clearStaleMount, fusermountUnmount, mountAt } from "./mount-table.js";

// The package's types declare an ES default export; at run time module.exports is the class.
const Fuse = FuseImport as unknown as typeof FuseImport.default;
type Signal = (result: number, ...rest: unknown[]) => void;

/** Operations the core answers from the tree without the reader (and so without I/O). */
const TREE_OPS = ["getattr", "readdir", "getxattr", "listxattr", "statfs"] as const;
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
  recordMountDescriptors();
  const tally: RequestTally = { requests: 0, getattrs: 0 };
  const fuse = new QuiltFuse(mnt, core, mountOptionString(options), tally);
  try {
    await withTimeout(
      new Promise<void>((resolve, reject) => fuse.mount((err) => (err ? reject(err) : resolve()))),
      MOUNT_TIMEOUT_MS,
      `mounting ${mnt} timed out`,
    );
  } catch (err) {
    await fusermountUnmount(mnt, { lazy: true }).catch(() => undefined);
    throw new QuiltError("ENOFUSE", `Cannot mount on ${mnt}: ${(err as Error).message}`, {
      cause: err,
      hint: "is FUSE available (/dev/fuse, fusermount) and allowed here (in a container: --device /dev/fuse --cap-add SYS_ADMIN)?",
    });
  }
  let unmounted = false;
  return {
    mountpoint: mnt,
    tally,
    // The mount's own descriptor; every one when it is not known; none once it is unmounting.
    invalidateRootNames: (names) =>
      invalidateRootNames(names, () => (fuse.unmounting ? undefined : (mountDescriptor(fuse) ?? "all"))),
    async unmount(opts = {}) {
      if (unmounted) return;
      fuse.forceUnmount = opts.force === true;
      await new Promise<void>((resolve, reject) => fuse.unmount((err) => (err ? reject(err) : resolve())));
      unmounted = true;
    },
  };
}

class QuiltFuse extends Fuse {
  forceUnmount = false;
  /** Set once unmounting began: no invalidation notice is sent to its descriptor from then on. */
  unmounting = false;

  constructor(
    mnt: string,
    private readonly core: QuiltFilesystem,
    private readonly optionString: string,
    private readonly tally: RequestTally,
  ) {
    // The binding takes per-operation timeouts as an object (its types only admit a number).
    // Operations answered from the tree alone always settle: no timer each (one per lookup).
    const timeout: Record<string, number | false> = {
      default: core.readTimeoutMs,
      read: core.readTimeoutMs + BINDING_TIMEOUT_MARGIN_MS,
    };
    for (const op of [...TREE_OPS, ...MUTATING_OPS]) timeout[op] = false;
    super(mnt, operations(core, tally), { timeout: timeout as unknown as number });
  }

  _fuseOptions(): string {
    return this.optionString;
  }

  _op_getxattr(signal: Signal, path: string, name: string, valueBuf: Buffer): void {
    this.tally.requests++;
    this.core.getxattr(path, name).then(
      (value) => signal(fitBuffer(value, valueBuf), valueBuf.buffer),
      (err: unknown) => signal(fuseErrno(err), valueBuf.buffer),
    );
  }

  _op_listxattr(signal: Signal, path: string, listBuf: Buffer): void {
    this.tally.requests++;
    this.core.listxattr(path).then(
      (names) =>
        signal(fitBuffer(Buffer.from(names.map((n) => n + "\0").join(""), "utf8"), listBuf), listBuf.buffer),
      (err: unknown) => signal(fuseErrno(err), listBuf.buffer),
    );
  }

  _close(cb: (err: Error | null) => void): void {
    // Someone may have unmounted it from outside already (fusermount -u): then only the
    // binding's cleanup is left to do.
    // No invalidation notice may be on its way to this mount's descriptor when it closes.
    this.unmounting = true;
    afterInvalidations()
      .then(() => mountAt(this.mnt))
      .then((m) => (m === undefined ? undefined : fusermountUnmount(this.mnt, { lazy: this.forceUnmount })))
      .then(
        () => {
          releaseNativeLoop(this);
          cb(null);
        },
        (err: Error) => {
          // Refused (busy): still mounted, and a switch must still reach its kernel.
          this.unmounting = false;
          cb(err);
        },
      );
  }
}

/** The binding's own cleanup after an unmount: lets Node's event loop exit again. */
function releaseNativeLoop(fuse: QuiltFuse): void {
  nativeBinding().fuse_native_unmount(fuse.mnt, (fuse as unknown as { _thread: Buffer })._thread);
}

function withTimeout<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
