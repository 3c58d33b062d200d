// Download temp names: recognised (old and new forms), unique, within the file name limit,
// and judged dead only when their writer is gone from this host or they went stale.
import { spawnSync } from "node:child_process";
import { basename } from "node:path";
import { describe, expect, it } from "vitest";
import {
  isDeadDownloadTemp,
  isDownloadTemp,
  isForeignDownloadTemp,
  tempPathFor,
} from "../../src/api/download-temp.js";

describe("download temp names", () => {
  it("are recognised, unique, and not foreign to the process writing them", () => {
    const a = basename(tempPathFor("/d/file.bin"));
    const b = basename(tempPathFor("/d/file.bin"));
    expect(a).not.toBe(b);
    expect(isDownloadTemp(a)).toBe(true);
    expect(isForeignDownloadTemp(a)).toBe(false);
    expect(isDeadDownloadTemp(a, 0)).toBe(false); // ours, however old
    expect(isDownloadTemp(".file.bin.0123456789ab-0.quilt-tmp")).toBe(true); // earlier versions' form
    expect(isDownloadTemp("file.bin.quilt-tmp")).toBe(false);
  });

  it("stay within 255 bytes for a final name at the limit, cutting whole characters", () => {
    const name = "é".repeat(127); // 254 bytes
    const temp = basename(tempPathFor(`/d/${name}`));
    expect(Buffer.byteLength(temp)).toBeLessThanOrEqual(255);
    expect(temp).not.toContain("\uFFFD");
    expect(isDownloadTemp(temp)).toBe(true);
  });

  it("of a dead writer on this host are dead at once; a live writer's only after a minute untouched", () => {
    const mine = basename(tempPathFor("/d/f"));
    const dead = spawnSync(process.execPath, [
      "-e",
      "process.stdout.write(String(process.pid))",
    ]).stdout.toString();
    const other = (pid: number | string) =>
      mine.replace(/^(\.f\.)[0-9a-f]{12}(-[0-9a-z]+\.[0-9a-f]{4}-)\d+/, `$1ffffffffffff$2${pid}`);
    const now = Date.now();
    expect(isDeadDownloadTemp(other(dead), now, now)).toBe(true);
    expect(isDeadDownloadTemp(other(process.ppid), now, now)).toBe(false);
    expect(isDeadDownloadTemp(other(process.ppid), now - 61_000, now)).toBe(true);
    // Another host's writer cannot be asked: only staleness counts.
    const host = /\.([0-9a-f]{4})-\d+\.quilt-tmp$/.exec(mine)?.[1];
    const remote = other(dead).replace(`.${host}-`, host === "0000" ? ".1111-" : ".0000-");
    expect(isDeadDownloadTemp(remote, now, now)).toBe(false);
    expect(isDeadDownloadTemp(".f.ffffffffffff-0.quilt-tmp", now, now)).toBe(false);
  });
});
