// A builder workspace: a directory where `quilt init NAME` was run, holding a
// PackageBuilder between commands in .quilt/workspace.json. Like git, every command finds
// it by walking up from the current directory. The file is replaced atomically (written
// to a temporary file, synced, renamed over), so a crash in any command leaves the
// previous state or the new one; a half-written temporary file is never read.
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, open, readFile, readdir, rename, stat, unlink } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import {
  restoreBuilder,
  builderStateEntries,
  builderStateHead,
  checkBuilderState,
  type BuilderState,
  type FileStamp,
} from "../api/builder-state.js";
import { INSTALL_STATE_FILE } from "../api/install-state.js";
import { PackageBuilder, type BuilderSnapshot } from "../api/package-builder.js";
import { STATE_DIR } from "../api/safe-path.js";
import { errnoCode, errorMessage, QuiltError } from "../errors.js";
import type { CommandContext } from "./context.js";
import { workspaceText } from "./workspace-text.js";

export const WORKSPACE_FILE = "workspace.json";
const FORMAT = "quilt-workspace/1";
/** Temporary state files older than this are left over from a crash and are removed. */
const STALE_TEMP_MS = 60 * 60 * 1000;
const TEMP_RE = /^\.workspace\.json\.[0-9a-f]+\.tmp$/;

export const NO_WORKSPACE_HINT =
  "run `quilt init NAME` in the directory that holds your data to start a package there";

interface WorkspaceFile {
  format: typeof FORMAT;
  /** Bumped by every save: a save refuses to overwrite a state newer than the one it read. */
  generation: number;
  /** The --prefix of the last push-data, reused when none is given. */
  dataPrefix?: string;
  builder: BuilderState;
}

/** The file without its builder: what a workspace keeps of it once the builder is restored. */
type WorkspaceHeader = Omit<WorkspaceFile, "builder">;

function headerOf(file: WorkspaceFile): WorkspaceHeader {
  const { builder: _builder, ...header } = file;
  return header;
}

export function workspaceStatePath(root: string): string {
  return join(root, STATE_DIR, WORKSPACE_FILE);
}

/** The nearest directory at or above `start` whose .quilt/ holds `file`. */
function findUp(start: string, file: string): string | undefined {
  let dir = resolve(start);
  for (;;) {
    if (existsSync(join(dir, STATE_DIR, file))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

export function findWorkspaceRoot(start: string): string | undefined {
  return findUp(start, WORKSPACE_FILE);
}

/** The nearest installed package directory at or above `start` (it has .quilt/installed.json). */
export function findInstalledRoot(start: string): string | undefined {
  return findUp(start, INSTALL_STATE_FILE);
}

async function readWorkspaceFile(root: string): Promise<WorkspaceFile> {
  const path = workspaceStatePath(root);
  const text = await readFile(path, "utf8");
  try {
    return checkWorkspaceFile(JSON.parse(text));
  } catch (err) {
    throw new QuiltError("EBADMANIFEST", `${path} is not a valid workspace state: ${errorMessage(err)}`, {
      hint: "it was edited or damaged; move it away and `quilt init` again to start over",
    });
  }
}

/** The parsed file if it is one save() could have written, its builder state checked too. */
function checkWorkspaceFile(v: unknown): WorkspaceFile {
  const file = typeof v === "object" && v !== null ? v : {};
  const format = "format" in file ? file.format : undefined;
  const generation = "generation" in file ? file.generation : undefined;
  if (format !== FORMAT || typeof generation !== "number")
    throw new Error(`unknown format ${JSON.stringify(format)}`);
  const dataPrefix = "dataPrefix" in file ? file.dataPrefix : undefined;
  if (dataPrefix !== undefined && typeof dataPrefix !== "string")
    throw new Error("dataPrefix is not a string");
  return {
    format,
    generation,
    ...(dataPrefix !== undefined && { dataPrefix }),
    builder: checkBuilderState("builder" in file ? file.builder : undefined),
  };
}

/**
 * The generation of the saved state, from the head of the file as save() writes it (format,
 * then generation), without parsing a million entries again; a file not in that form is
 * read whole.
 */
async function readGeneration(root: string): Promise<{ generation: number }> {
  const fh = await open(workspaceStatePath(root), "r");
  try {
    const { buffer, bytesRead } = await fh.read(Buffer.alloc(256), 0, 256, 0);
    const m = /^\{\s*"format":\s*"[^"\\]*",\s*"generation":\s*(\d+)\s*,/.exec(
      buffer.toString("utf8", 0, bytesRead),
    );
    if (m) return { generation: Number(m[1]) };
  } finally {
    await fh.close();
  }
  return readWorkspaceFile(root);
}

/** Text is written in pieces of about this many characters (one string per piece, not per file). */
const WRITE_BATCH_CHARS = 1 << 20;

/** Writes `text` to `path` so that readers see the old content or the new, never a part. */
async function replaceAtomically(path: string, text: AsyncIterable<string>): Promise<void> {
  const tmp = join(dirname(path), `.${WORKSPACE_FILE}.${randomBytes(6).toString("hex")}.tmp`);
  const fh = await open(tmp, "wx", 0o644);
  try {
    let batch = "";
    for await (const piece of text) {
      batch += piece;
      if (batch.length >= WRITE_BATCH_CHARS) {
        await fh.writeFile(batch); // appends: a handle's writeFile writes from its current position
        batch = "";
      }
    }
    await fh.writeFile(batch);
    await fh.sync();
  } catch (err) {
    await fh.close();
    await unlink(tmp).catch(() => {});
    throw err;
  }
  await fh.close();
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
  // The rename itself survives a power loss only once the directory is synced.
  const dh = await open(dirname(path), "r").catch(() => undefined);
  await dh?.sync().catch(() => {});
  await dh?.close();
}

async function removeStaleTemps(stateDir: string): Promise<void> {
  const now = Date.now();
  for (const name of await readdir(stateDir).catch((): string[] => [])) {
    if (!TEMP_RE.test(name)) continue;
    const path = join(stateDir, name);
    const st = await stat(path).catch(() => undefined);
    if (st && now - st.mtimeMs > STALE_TEMP_MS) await unlink(path).catch(() => {});
  }
}

export class Workspace {
  private constructor(
    readonly root: string,
    // Not the parsed builder state: a million entries of it would stay in memory beside the builder.
    private file: WorkspaceHeader,
    public builder: PackageBuilder,
    /** Local files edited since they were hashed (their hashes were dropped). */
    readonly staleFiles: string[],
    readonly warnings: string[],
    private readonly stamps: Map<string, FileStamp>,
    private readonly output: (line: string) => void,
  ) {}

  /** Creates the workspace state in `root` (which must not hold one). */
  static async create(root: string, builder: PackageBuilder): Promise<Workspace> {
    await mkdir(join(root, STATE_DIR), { recursive: true });
    const ws = new Workspace(root, { format: FORMAT, generation: 0 }, builder, [], [], new Map(), () => {});
    await ws.save();
    return ws;
  }

  static async open(root: string, output: (line: string) => void, ctx: CommandContext): Promise<Workspace> {
    const file = await readWorkspaceFile(root);
    const { builder, staleFiles, warnings, stamps } = await restoreBuilder(file.builder, {
      session: ctx.quilt,
      output,
    });
    return new Workspace(root, headerOf(file), builder, staleFiles, warnings, stamps, output);
  }

  /** Replaces the builder by one made from `snapshot` (for edits the builder has no method for). */
  replaceBuilder(snapshot: BuilderSnapshot): void {
    const b = this.builder;
    const name = b.defaultTag === undefined ? b.name : `${b.name}:${b.defaultTag}`;
    this.builder = PackageBuilder.fromState(name, snapshot, {
      session: b.session,
      registry: b.registry.url,
      output: this.output,
    });
  }

  get stateDir(): string {
    return join(this.root, STATE_DIR);
  }

  get dataPrefix(): string | undefined {
    return this.file.dataPrefix;
  }

  set dataPrefix(prefix: string | undefined) {
    if (prefix === undefined) delete this.file.dataPrefix;
    else this.file.dataPrefix = prefix;
  }

  /** Saves the builder. Refused when another command saved since this one read the state. */
  async save(): Promise<void> {
    const path = workspaceStatePath(this.root);
    if (this.file.generation > 0) {
      const onDisk = await readGeneration(this.root).catch((err: unknown) => {
        if (errnoCode(err) === "ENOENT")
          throw new QuiltError("ENOTFOUND", `${path} was removed while this command ran`, {
            hint: NO_WORKSPACE_HINT,
          });
        throw err;
      });
      if (onDisk.generation !== this.file.generation) {
        throw new QuiltError(
          "ESTALE",
          "The workspace was changed by another quilt command while this one ran; this command's changes were not saved",
          {
            hint: "run `quilt status` to see the workspace, then run the command again",
          },
        );
      }
    }
    const next: WorkspaceHeader = { ...this.file, generation: this.file.generation + 1 };
    const entries = builderStateEntries(this.builder, { stamps: this.stamps });
    await replaceAtomically(path, workspaceText(next, builderStateHead(this.builder), entries));
    this.file = next;
    await removeStaleTemps(this.stateDir);
  }
}

/**
 * The workspace around the current directory, with its builder restored. Lines the
 * builder prints ("Building manifest...") go to `output`; warnings about the state to stderr.
 */
export async function openWorkspace(
  ctx: CommandContext,
  output: (line: string) => void = (l) => ctx.say(l),
): Promise<Workspace> {
  const root = findWorkspaceRoot(process.cwd());
  if (root === undefined) {
    const installed = findInstalledRoot(process.cwd());
    throw new QuiltError(
      "ENOTFOUND",
      `Not in a quilt workspace: no ${STATE_DIR}/${WORKSPACE_FILE} here or in any parent directory`,
      {
        hint:
          installed !== undefined
            ? `${installed} holds an installed package, not a workspace; ${NO_WORKSPACE_HINT}`
            : NO_WORKSPACE_HINT,
      },
    );
  }
  const ws = await Workspace.open(root, output, ctx);
  for (const w of ws.warnings) ctx.io.err(`warning: ${w}\n`);
  return ws;
}
