// What an install leaves next to the data, in <dir>/.quilt/installed.json: which package
// version the directory holds and a stat record (size, mtime, ctime, inode) of every file
// it wrote. `quilt status`, `quilt hash DIR` and verify read it; verify trusts a file whose
// stat record still matches instead of re-hashing it (unless asked to go deep). Size and
// mtime alone are not enough: a rewrite of the same size with its mtime put back (touch -r,
// utimes) would pass. The ctime cannot be set by a user (any write, chmod or utimes moves
// it to now), so a file whose ctime is the recorded one was not touched since.
import { randomBytes } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { errnoCode, QuiltError } from "../errors.js";
import type { Stats } from "node:fs";
import { isTopHash, type TopHash } from "../types.js";
import { STATE_DIR } from "./safe-path.js";

export const INSTALL_STATE_FILE = "installed.json";
const FORMAT = 1;

export interface StatRecord {
  size: number;
  mtimeMs: number;
  /** Absent in records of older versions: such a file is hashed. */
  ctimeMs?: number;
  ino: number;
  /** The entry hash value the file had when we wrote or verified it. */
  hash: string;
}

export interface InstallState {
  format: typeof FORMAT;
  registry: string;
  name: string;
  tag?: string;
  topHash: string;
  /** The paths (keys or "dir/" prefixes) installed when only part of the package was; absent for all of it. */
  paths?: string[];
  /** Logical key to the stat of the file as written (and verified) by us. */
  files: Record<string, StatRecord>;
}

/** An install record as read back: its top hash parsed as one, so that it can name a manifest. */
export interface InstallRecord extends InstallState {
  topHash: TopHash;
}

export function statRecord(st: Stats, hash: string): StatRecord {
  return { size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino, hash };
}

/** The file is unchanged since we recorded it holding `hash`. */
export function trustedByStat(rec: StatRecord | undefined, st: Stats, hash: string): boolean {
  return (
    rec !== undefined &&
    rec.hash === hash &&
    rec.size === st.size &&
    rec.mtimeMs === st.mtimeMs &&
    rec.ctimeMs === st.ctimeMs &&
    rec.ino === st.ino
  );
}

export async function readInstallState(dir: string): Promise<InstallRecord | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, STATE_DIR, INSTALL_STATE_FILE), "utf8");
  } catch (err) {
    if (errnoCode(err) === "ENOENT" || errnoCode(err) === "ENOTDIR") return undefined;
    throw err;
  }
  try {
    const state = JSON.parse(text) as InstallRecord;
    if (state.format !== FORMAT || typeof state.topHash !== "string" || typeof state.files !== "object")
      throw new Error("unknown format");
    // Parsed here, at the edge, so that no command uses a damaged record's text as a manifest's name.
    if (!isTopHash(state.topHash)) throw new Error("its topHash is not 64 lowercase hex digits");
    return state;
  } catch (err) {
    throw new QuiltError(
      "EBADMANIFEST",
      `${join(dir, STATE_DIR, INSTALL_STATE_FILE)} is not a valid install record: ${(err as Error).message}`,
      {
        hint: "delete it and install the package again (files already in place are kept)",
      },
    );
  }
}

/** Atomic: a crash leaves the previous record or the new one. */
export async function writeInstallState(dir: string, state: InstallState): Promise<void> {
  const stateDir = join(dir, STATE_DIR);
  await mkdir(stateDir, { recursive: true });
  const tmp = join(stateDir, `.${INSTALL_STATE_FILE}.${randomBytes(6).toString("hex")}.tmp`);
  await writeFile(tmp, JSON.stringify(state));
  await rename(tmp, join(stateDir, INSTALL_STATE_FILE));
}
