// LMDB relies on mmap coherence and POSIX locks that network filesystems (NFS, EFS, SMB)
// do not provide, so the cache index must be on a local disk; and where a stat is a round
// trip (a shared data directory on NFS) the block store does not stat before reading
// (block-store.ts). This tells a local disk from a network one.
import { statfs } from "node:fs/promises";
import { QuiltError } from "../errors.js";

/** statfs magic numbers of network filesystems, where LMDB's locks and mmap are unsafe (NFS covers EFS). */
const NETWORK_FS_MAGIC = new Map<number, string>([
  [0x6969, "NFS"],
  [0x517b, "SMB"],
  [0xff534d42, "CIFS"],
  [0xfe534d42, "SMB2"],
]);

/** The name of the network filesystem `dir` is on (NFS, SMB...), or undefined for a local one. */
export async function networkFilesystem(dir: string): Promise<string | undefined> {
  const { type } = await statfs(dir);
  return NETWORK_FS_MAGIC.get(type);
}

/** Refuses an index directory on a network filesystem, with a hint instead of a corrupt index later. */
export async function assertLocalDisk(dir: string): Promise<void> {
  const fs = await networkFilesystem(dir);
  if (fs) {
    throw new QuiltError("EUSAGE", `the cache index directory ${dir} is on ${fs}; LMDB needs a local disk`, {
      hint: "put the index on local disk; only the cache data directory may be shared",
    });
  }
}
