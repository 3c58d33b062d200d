// A child process that mounts a QuiltFilesystem over a MemoryEntryReader and serves it
// until told to unmount. The tests read the mount from another process on purpose: a
// synchronous call (readFileSync, execFileSync) from the process that serves a FUSE mount
// deadlocks it, since the call blocks the very event loop that must answer the kernel.
// Commands arrive over the fork IPC channel (see fuse-harness.ts).
import { QuiltError, type ErrorCode } from "../../src/errors.js";
import { QuiltFilesystem } from "../../src/fs/filesystem.js";
import { mount, type MountHandle } from "../../src/fs/fuse-mount.js";
import { MemoryEntryReader } from "../../src/fs/memory-reader.js";
import { fsManifest, type FileSpec } from "./fs-fixtures.js";

export interface ServerSpec {
  mountpoint: string;
  files?: FileSpec[];
  /** Adds `generated` files of `generatedSize` bytes under gen/dNNN/ (100 per directory). */
  generated?: number;
  generatedSize?: number;
  dirMeta?: [string, unknown][];
  userMeta?: unknown;
  topHash?: string;
  time?: string;
  delayMs?: number;
  readTimeoutMs?: number;
}

export type ServerRequest =
  | { id: number; op: "start"; spec: ServerSpec }
  | { id: number; op: "stats" }
  | { id: number; op: "failNextRead"; key: string; code: ErrorCode | "TIMEOUT"; times?: number }
  | { id: number; op: "clearFailures" }
  | { id: number; op: "unmount"; force?: boolean };

export interface ServerStats {
  opens: number;
  reads: number;
  releases: number;
  bytesRead: number;
  liveHandles: number;
  openFiles: number;
  /** getxattr calls that reached the filesystem core (the kernel caches none). */
  getxattrs: number;
}

export type ServerReply =
  { id: number; ok: true; value?: unknown } | { id: number; ok: false; message: string; code?: string };

export function generatedFiles(count: number, size: number): FileSpec[] {
  const files: FileSpec[] = [];
  for (let i = 0; i < count; i++) {
    files.push({
      key: `gen/d${String(Math.floor(i / 100)).padStart(3, "0")}/f${String(i).padStart(5, "0")}.bin`,
      size: size + (i % 7),
    });
  }
  return files;
}

let reader: MemoryEntryReader | undefined;
let core: QuiltFilesystem | undefined;
let handle: MountHandle | undefined;
let getxattrs = 0;

async function handleRequest(req: ServerRequest): Promise<unknown> {
  switch (req.op) {
    case "start": {
      const s = req.spec;
      const files = [...(s.files ?? []), ...generatedFiles(s.generated ?? 0, s.generatedSize ?? 10)];
      reader = new MemoryEntryReader({ delayMs: s.delayMs });
      core = new QuiltFilesystem(fsManifest(files, { dirMeta: s.dirMeta, userMeta: s.userMeta }), reader, {
        uid: process.getuid?.() ?? 0,
        gid: process.getgid?.() ?? 0,
        time: new Date(s.time ?? "2024-05-06T07:08:09.000Z"),
        topHash: s.topHash,
        readTimeoutMs: s.readTimeoutMs,
      });
      const getxattr = core.getxattr.bind(core);
      core.getxattr = (path, name) => {
        getxattrs++;
        return getxattr(path, name);
      };
      handle = await mount(core, s.mountpoint, { name: "test/pkg" });
      return handle.mountpoint;
    }
    case "stats": {
      if (!reader || !core) throw new Error("not started");
      const stats: ServerStats = {
        opens: reader.opens,
        reads: reader.reads,
        releases: reader.releases,
        bytesRead: reader.bytesRead,
        liveHandles: reader.liveHandles.size,
        openFiles: core.openFiles,
        getxattrs,
      };
      return stats;
    }
    case "failNextRead": {
      if (!reader) throw new Error("not started");
      for (let i = 0; i < (req.times ?? 1); i++) {
        const err =
          req.code === "TIMEOUT"
            ? Object.assign(new Error("deadline"), { name: "TimeoutError" })
            : new QuiltError(req.code, `injected ${req.code} for ${req.key}`);
        reader.failNextRead(req.key, err);
      }
      return undefined;
    }
    case "clearFailures": {
      reader?.clearFailures();
      return undefined;
    }
    case "unmount": {
      await handle?.unmount({ force: req.force });
      handle = undefined;
      // No process.exit: once the IPC channel closes, the process must end by itself, which
      // proves the unmount released the binding's hold on the event loop.
      setImmediate(() => process.disconnect());
      return undefined;
    }
  }
}

process.on("message", (req: ServerRequest) => {
  handleRequest(req).then(
    (value) => process.send?.({ id: req.id, ok: true, value } satisfies ServerReply),
    (err: Error & { code?: string }) =>
      process.send?.({ id: req.id, ok: false, message: err.message, code: err.code } satisfies ServerReply),
  );
});
process.on("disconnect", () => {
  // The test process went away while mounted: take the mount down rather than leave it stale.
  if (handle) void handle.unmount({ force: true }).finally(() => process.exit(0));
});
