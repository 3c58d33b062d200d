// kernel-invalidate.ts without a kernel: which notices go to a mount's session after a
// switch (the root's own attributes first, then each root-level name once, a few at a time),
// what counts as sent (ENOENT: the kernel held nothing under that name), and that a mount
// that began closing gets none.
import { describe, expect, it } from "vitest";
import { afterInvalidations, invalidateRootNames, SELF } from "../../src/fs/kernel-invalidate.js";

const NAMES = Array.from({ length: 300 }, (_, i) => `n${i}`);

describe("invalidateRootNames", () => {
  it("sends the root's notice first, then every name once, with at most 64 in flight", async () => {
    const sent: string[] = [];
    let inFlight = 0;
    let most = 0;
    const { notices } = await invalidateRootNames(NAMES, () => async (name) => {
      sent.push(name);
      most = Math.max(most, ++inFlight);
      await new Promise((r) => setTimeout(r, 1));
      inFlight--;
      return name.endsWith("7") ? -2 : 0; // ENOENT: nothing cached under it
    });
    expect(sent[0]).toBe(SELF);
    expect([...sent].sort()).toEqual([SELF, ...NAMES].sort());
    expect(most).toBeLessThanOrEqual(64);
    expect(notices).toBe(1 + NAMES.filter((n) => !n.endsWith("7")).length);
  });

  it("stops at a refusal other than ENOENT", async () => {
    const sent: string[] = [];
    const { notices } = await invalidateRootNames(NAMES, () => async (name) => {
      sent.push(name);
      return -11; // EAGAIN: the binding's queue is full
    });
    expect(notices).toBe(0);
    expect(sent.length).toBeLessThan(NAMES.length);
  });

  it("sends nothing to a mount that is closing, and unmounts wait for notices on their way", async () => {
    let release = (): void => undefined;
    const slow = invalidateRootNames(
      ["a"],
      () => (name) =>
        name === SELF ? new Promise<number>((r) => (release = () => r(0))) : Promise.resolve(0),
    );
    let waited = false;
    const after = afterInvalidations().then(() => (waited = true));
    await new Promise((r) => setTimeout(r, 5));
    expect(waited).toBe(false);
    release();
    expect(await slow).toEqual({ notices: 2 });
    await after;
    expect(await invalidateRootNames(["a"], () => undefined)).toEqual({ notices: 0 });
  });
});
