// Whether this machine can serve a FUSE mount, checked before mounting so a missing piece
// is named instead of surfacing as a binding error or, later, as a mount nobody can take
// down. Two things are needed: the kernel's device (/dev/fuse; a container needs it passed
// in) and libfuse 3's fusermount3 helper, which unmounts (mount-table.ts) and, for a user who
// is not root, mounts too (the binding checks for it before each mount as well). (libfuse
// itself failing to load stops the daemon at its start; its log says why.)
import { access, stat } from "node:fs/promises";
import { constants } from "node:fs";
import { delimiter, join } from "node:path";
import { QuiltError } from "../errors.js";

export const FUSE_DEVICE = "/dev/fuse";
/** libfuse 3's helper (fuse 3 may also install it as fusermount; fuse 2's fusermount cannot mount for libfuse 3). */
export const FUSERMOUNT_NAMES = ["fusermount3"];

const INSTALL_HINT =
  "install FUSE (Debian/Ubuntu: apt-get install fuse3; in a container also pass --device /dev/fuse --cap-add SYS_ADMIN)";

/** The first fusermount on PATH, or undefined. */
export async function findFusermount(
  path: string | undefined = process.env.PATH,
): Promise<string | undefined> {
  for (const dir of (path ?? "").split(delimiter).filter((d) => d !== "")) {
    for (const name of FUSERMOUNT_NAMES) {
      const candidate = join(dir, name);
      if (
        await access(candidate, constants.X_OK).then(
          () => true,
          () => false,
        )
      )
        return candidate;
    }
  }
  return undefined;
}

/** Refuses (ENOFUSE, naming what is missing) unless /dev/fuse and a fusermount exist. */
export async function assertFuseAvailable(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const device = await stat(FUSE_DEVICE).catch(() => undefined);
  if (!device?.isCharacterDevice()) {
    throw new QuiltError("ENOFUSE", `FUSE is not available: ${FUSE_DEVICE} does not exist`, {
      hint: INSTALL_HINT,
    });
  }
  if ((await findFusermount(env.PATH)) === undefined) {
    throw new QuiltError(
      "ENOFUSE",
      `FUSE is not available: no ${FUSERMOUNT_NAMES.join(" or ")} on the PATH of the quilt daemon (${env.PATH ?? "unset"})`,
      {
        hint: `${INSTALL_HINT}; a daemon started from a shell without it on PATH must be restarted: quilt daemon stop`,
      },
    );
  }
}
