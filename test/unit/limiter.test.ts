// The one Limiter and forEachLimited (src/limiter.ts) that every fetch, upload and file loop
// shares: the bound holds exactly, a slot passes to the next waiter in order, and a failure
// stops new work and surfaces only once the work already started has settled.
import { describe, expect, it } from "vitest";
import { Limiter, forEachLimited } from "../../src/limiter.js";

/** A promise settled from outside, so a test decides when each task ends (no timers). */
function gate(): { promise: Promise<void>; open: () => void; fail: (err: Error) => void } {
  let open!: () => void;
  let fail!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => ((open = res), (fail = rej)));
  return { promise, open, fail };
}

const settle = () => new Promise<void>((r) => setImmediate(r));

describe("Limiter", () => {
  it("never runs more than max tasks at once, and hands slots over in order", async () => {
    const limit = new Limiter(2);
    const gates = Array.from({ length: 5 }, gate);
    const started: number[] = [];
    let running = 0;
    let most = 0;
    const done = gates.map((g, i) =>
      limit.run(async () => {
        started.push(i);
        most = Math.max(most, ++running);
        try {
          await g.promise;
        } finally {
          running--;
        }
        return i;
      }),
    );
    await settle();
    expect(started).toEqual([0, 1]);
    gates[1]!.open();
    await settle();
    expect(started).toEqual([0, 1, 2]);
    gates[0]!.fail(new Error("boom"));
    await expect(done[0]).rejects.toThrow("boom");
    await settle();
    expect(started).toEqual([0, 1, 2, 3]);
    for (const g of gates) g.open();
    expect(await Promise.all(done.slice(1))).toEqual([1, 2, 3, 4]);
    expect(most).toBe(2);
  });
});

describe("forEachLimited", () => {
  it("runs every item with at most `concurrency` at once, passing indexes", async () => {
    let running = 0;
    let most = 0;
    const seen: [string, number][] = [];
    await forEachLimited(["a", "b", "c", "d", "e"], 3, async (item, i) => {
      most = Math.max(most, ++running);
      await settle();
      seen.push([item, i]);
      running--;
    });
    expect(most).toBe(3);
    expect(seen.sort()).toEqual([
      ["a", 0],
      ["b", 1],
      ["c", 2],
      ["d", 3],
      ["e", 4],
    ]);
  });

  it("starts nothing after a failure and rejects once started work settled", async () => {
    const slow = gate();
    const started: number[] = [];
    let slowDone = false;
    const run = forEachLimited([0, 1, 2, 3], 2, async (i) => {
      started.push(i);
      if (i === 0) {
        await slow.promise;
        slowDone = true;
      }
      if (i === 1) throw new Error("item 1");
    });
    let rejected = false;
    run.catch(() => (rejected = true));
    await settle();
    expect(rejected).toBe(false); // item 0 still runs
    slow.open();
    await expect(run).rejects.toThrow("item 1");
    expect(slowDone).toBe(true);
    expect(started).toEqual([0, 1]);
  });
});
