// Cache, state and log directories are private to their user: a shared GPU node has other
// users, and cached dataset bytes, manifests and logs are theirs to read only if the owner
// says so. Files inside keep the process's umask (0644 typically): a 0700 directory above
// them is what keeps them private, so one mkdir covers every file written below it.
//
// A directory the user named (QUILT_CACHE_DIR, QUILT_STATE_DIR, QUILT_CACHE_DATA_DIR,
// --cache-dir) is created 0700 when missing but never tightened when it exists: it may be
// shared on purpose (a data directory several daemons share, made group-writable by its
// owner; README, "Privacy on a shared machine"). The default locations are tightened, since versions
// before this one created them 0755.
import { chmod, mkdir, stat } from "node:fs/promises";

export async function makePrivateDir(path: string, opts: { tighten: boolean }): Promise<void> {
  await mkdir(path, { recursive: true, mode: 0o700 });
  if (!opts.tighten) return;
  const st = await stat(path);
  const uid = typeof process.getuid === "function" ? process.getuid() : undefined;
  if (uid !== undefined && st.uid === uid && (st.mode & 0o077) !== 0) await chmod(path, 0o700);
}
