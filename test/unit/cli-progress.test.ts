// The progress bar as the library feeds it: onTransfer takes download/upload/cache-fill
// progress (files and bytes), onHashing takes hashing progress (files), passed straight as
// an onProgress callback (unbound). Plain lines, as on a non-terminal stderr.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Io } from "../../src/cli/context.js";
import { Progress } from "../../src/cli/progress.js";

let err = "";
const io: Io = { out: () => {}, err: (t) => void (err += t), outBytes: () => {}, isTty: false };
const delay = process.env.QUILT_PROGRESS_DELAY_MS;
beforeEach(() => {
  err = "";
  process.env.QUILT_PROGRESS_DELAY_MS = "0"; // show at once instead of after a quiet second
});
afterEach(() => {
  if (delay === undefined) delete process.env.QUILT_PROGRESS_DELAY_MS;
  else process.env.QUILT_PROGRESS_DELAY_MS = delay;
});

describe("Progress feeds", () => {
  it("onTransfer shows files and bytes", () => {
    const bar = new Progress(io, "Downloading");
    const onProgress = bar.onTransfer;
    onProgress({ filesDone: 1, filesTotal: 4, bytesDone: 1024, bytesTotal: 4096 });
    bar.finish();
    expect(err).toBe("Downloading: 1/4 1.0 KiB/4.0 KiB\n");
  });

  it("onHashing shows files hashed, and the final count once", () => {
    const bar = new Progress(io, "Hashing");
    const onProgress = bar.onHashing;
    onProgress({ filesHashed: 2, filesToHash: 3 });
    onProgress({ filesHashed: 3, filesToHash: 3 });
    bar.finish();
    expect(err).toBe("Hashing: 2/3\nHashing: 3/3\n");
  });
});
