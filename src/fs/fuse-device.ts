// Which /dev/fuse descriptor serves which mount. The binding opens the descriptor inside one
// synchronous native call (fuse_native_mount: libfuse's fuse_mount, through fusermount or
// mount(2)) and never tells us its number, yet invalidation notices (kernel-invalidate.ts)
// must go to the one mount they are about: sent to every descriptor, a version switch or a
// memory bound on one mount would also make every other mount's kernel forget the same root
// names. So that call is wrapped: the process's /dev/fuse descriptors are listed just before
// and just after it. No JavaScript runs in between, and only this thread opens or closes FUSE
// descriptors (libfuse's threads of other mounts only read and write theirs), so the one new
// descriptor is the mount's. Should it ever be anything but exactly one, the mount's notices
// go to every descriptor as before, and that is logged.
import { readdirSync, readlinkSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { log } from "../log.js";

const FUSE_DEVICE = "/dev/fuse";

interface NativeBinding {
  fuse_native_mount(mnt: string, ...rest: unknown[]): unknown;
  fuse_native_unmount(mnt: string, thread: Buffer): void;
}

let binding: NativeBinding | undefined;

/** The binding's native module: the very object its index.js calls (Node caches an addon by file). */
export function nativeBinding(): NativeBinding {
  if (binding) return binding;
  const require = createRequire(import.meta.url);
  const main = require.resolve("@cocalc/fuse-native");
  binding = createRequire(main)("node-gyp-build")(dirname(main)) as NativeBinding;
  return binding;
}

/** Descriptor per binding instance (the Fuse object is the call's fourth argument); undefined: not known. */
const descriptors = new WeakMap<object, number | undefined>();
let wrapped = false;

/** Wraps the binding's mount call once per process so that each mount's descriptor is recorded. */
export function recordMountDescriptors(): void {
  if (wrapped) return;
  wrapped = true;
  const b = nativeBinding();
  const original = b.fuse_native_mount.bind(b);
  b.fuse_native_mount = (mnt: string, ...rest: unknown[]) => {
    const before = new Set(fuseDescriptors());
    try {
      return original(mnt, ...rest);
    } finally {
      const added = fuseDescriptors().filter((fd) => !before.has(fd));
      const instance = rest[2];
      if (typeof instance === "object" && instance !== null)
        descriptors.set(instance, added.length === 1 ? added[0] : undefined);
      log().debug({ mountpoint: mnt, added }, "the FUSE descriptor of a new mount");
      if (added.length !== 1)
        log().warn(
          { mountpoint: mnt, added },
          "could not tell this mount's FUSE descriptor: its invalidation notices go to every mount",
        );
    }
  };
}

/** The /dev/fuse descriptor a binding instance mounted with, or undefined when not known. */
export function mountDescriptor(instance: object): number | undefined {
  return descriptors.get(instance);
}

/** Every /dev/fuse descriptor this process holds. */
export function fuseDescriptors(): number[] {
  const out: number[] = [];
  for (const name of readdirSync("/proc/self/fd")) {
    if (isFuseDevice(Number(name))) out.push(Number(name));
  }
  return out;
}

/** Whether a descriptor is (still) open on /dev/fuse. */
export function isFuseDevice(fd: number): boolean {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`) === FUSE_DEVICE;
  } catch {
    return false; // closed meanwhile
  }
}
