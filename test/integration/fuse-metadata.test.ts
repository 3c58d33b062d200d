// Metadata operations over a 10,000-entry mount never reach the reader (and so never S3):
// find, stat and xattr listing of every entry leave its counters at zero; `ls -l` asks the
// daemon for no extended attribute per file.
import { lstatSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FuseServer, fuseUnavailable, run } from "../helpers/fuse-harness.js";
import { generatedFiles } from "../helpers/fuse-server.js";

const unavailable = fuseUnavailable();
if (unavailable) console.warn(`Skipping FUSE metadata tests: ${unavailable}`);

const COUNT = 10_000;

describe.skipIf(unavailable !== null)("FUSE mount metadata", () => {
  let server: FuseServer;
  const files = generatedFiles(COUNT, 1000);

  beforeAll(async () => {
    server = await FuseServer.start({ generated: COUNT, generatedSize: 1000 });
  });
  afterAll(async () => {
    await server?.close();
  });

  it("walks and stats every entry of a 10,000-entry package without a single read", async () => {
    const mnt = server.mountpoint;
    const found = await run("find", [mnt, "-printf", "%y %s %P\n"]);
    expect(found.code).toBe(0);
    const lines = found.stdout.trim().split("\n");
    const fileLines = lines.filter((l) => l.startsWith("f "));
    expect(fileLines).toHaveLength(COUNT);
    expect(lines.filter((l) => l.startsWith("d "))).toHaveLength(1 + COUNT / 100 + 1); // root, gen, gen/dNNN
    const sizes = new Map(fileLines.map((l) => [l.split(" ").slice(2).join(" "), Number(l.split(" ")[1])]));
    for (const f of files) expect(sizes.get(f.key), f.key).toBe(f.size);

    for (const f of files) {
      const st = lstatSync(join(mnt, f.key));
      expect(st.size).toBe(f.size);
    }
    for (const d of readdirSync(join(mnt, "gen"))) expect(readdirSync(join(mnt, "gen", d))).toHaveLength(100);
    const xattrs = await run("python3", [
      "-c",
      "import os,sys\nn=0\nfor r,ds,fs in os.walk(sys.argv[1]):\n for f in fs: n+=len(os.listxattr(os.path.join(r,f)))\nprint(n)",
      mnt,
    ]);
    expect(Number(xattrs.stdout.trim())).toBe(COUNT * 3);

    const stats = await server.stats();
    expect(stats).toMatchObject({ opens: 0, reads: 0, bytesRead: 0 });
  });

  it("lists `ls -l` of a directory with no getxattr round trip per file", async () => {
    // ls -l asks every file for security.selinux and system.posix_acl_access; answered
    // EOPNOTSUPP once, ls stops asking for the rest of the filesystem. Answered ENODATA,
    // it asked both for each of the 100 files (200 round trips the kernel never caches).
    const before = (await server.stats()).getxattrs;
    const listed = await run("ls", ["-l", join(server.mountpoint, "gen", "d042")]);
    expect(listed.code).toBe(0);
    const rows = listed.stdout.trim().split("\n").slice(1);
    expect(rows).toHaveLength(100);
    expect(rows.every((r) => r.startsWith("-r--r--r-- 1 "))).toBe(true);
    expect((await server.stats()).getxattrs - before).toBeLessThanOrEqual(2);
  });
});
