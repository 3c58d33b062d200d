// Test-only. A crash test sets QUILT_TEST_PAUSE_AT=<point> (and QUILT_TEST_PAUSE_MARKER=<file>)
// in a process's environment to stop it for good at a point no fault injected from outside
// can reach, then kills it there with SIGKILL. Points: "eviction" (block-room.ts then block-store.ts:
// the index has forgotten the victims, one file is deleted, the others wait) and "index-drop"
// (manifest-index-drop.ts: a dropped version's header is gone, one batch of its records
// removed, the others left). Never set outside tests;
// unset, it costs one comparison per use.
import { writeFileSync } from "node:fs";

const POINT = process.env.QUILT_TEST_PAUSE_AT;

/** Undefined unless the test asked to pause at `point`; then writes the marker file and returns a promise that never settles. */
export function pauseForTest(point: "eviction" | "index-drop"): Promise<never> | undefined {
  if (POINT !== point) return undefined;
  const marker = process.env.QUILT_TEST_PAUSE_MARKER;
  if (marker) writeFileSync(marker, `${process.pid} ${point}\n`);
  return new Promise<never>(() => undefined);
}
