// QUILT_S3_CONNECT_TIMEOUT and QUILT_S3_IDLE_TIMEOUT: seconds (decimals allowed), defaults
// when unset, and a value that is not a positive number of seconds refused with its name.
import { describe, expect, it } from "vitest";
import { DEFAULT_S3_CONNECT_TIMEOUT_MS, DEFAULT_S3_IDLE_TIMEOUT_MS, s3Timeouts } from "../../src/config.js";

describe("s3Timeouts", () => {
  it("defaults to 5 s connect and 15 s idle", () => {
    expect(s3Timeouts({})).toEqual({ connectTimeoutMs: 5_000, idleTimeoutMs: 15_000 });
    expect([DEFAULT_S3_CONNECT_TIMEOUT_MS, DEFAULT_S3_IDLE_TIMEOUT_MS]).toEqual([5_000, 15_000]);
    expect(s3Timeouts({ QUILT_S3_IDLE_TIMEOUT: "" })).toEqual({
      connectTimeoutMs: 5_000,
      idleTimeoutMs: 15_000,
    });
  });

  it("reads seconds, decimals allowed", () => {
    expect(s3Timeouts({ QUILT_S3_CONNECT_TIMEOUT: "2", QUILT_S3_IDLE_TIMEOUT: "0.5" })).toEqual({
      connectTimeoutMs: 2_000,
      idleTimeoutMs: 500,
    });
    expect(s3Timeouts({ QUILT_S3_IDLE_TIMEOUT: " 30 " }).idleTimeoutMs).toBe(30_000);
  });

  it("refuses what is not a positive number of seconds up to an hour, naming the variable", () => {
    for (const bad of ["0", "-1", "15ms", "1e3", "abc", "3601", "NaN"]) {
      expect(() => s3Timeouts({ QUILT_S3_IDLE_TIMEOUT: bad }), bad).toThrow(
        expect.objectContaining({
          code: "EUSAGE",
          message: `Invalid timeout QUILT_S3_IDLE_TIMEOUT=${JSON.stringify(bad)}`,
        }),
      );
    }
    expect(() => s3Timeouts({ QUILT_S3_CONNECT_TIMEOUT: "x" })).toThrow(/QUILT_S3_CONNECT_TIMEOUT/);
  });
});
