// The daemon's socket fuzzed for a time budget (QUILT_FUZZ_MS, default 15 s; seed
// QUILT_FUZZ_SEED): a real daemon (`quilt daemon start`) takes random bytes, broken JSON,
// well-formed requests with wrong types for every operation, oversized frames, half-open,
// slow, rude and pipelining clients, and bursts of connections, all at once. The property:
// it stays up (same pid), answers `list` and `ping` within a few seconds during and after,
// never answers a bad request with an internal error, and its open file descriptors come
// back to their baseline once the clients are gone.
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DaemonClient } from "../../src/daemon/client.js";
import { DaemonSandbox, processAlive, sleep, waitFor } from "../helpers/daemon-harness.js";
import { caseIndices, caseRng, fuzzRun, reproduce } from "../helpers/fuzz.js";
import { s3TestEnv } from "../helpers/s3.js";
import {
  burst,
  fuzzClient,
  halfOpenClient,
  openRaw,
  oversizeClient,
  rudeClient,
  slowClient,
} from "../helpers/socket-fuzz.js";

const FILE = "test/integration/daemon-socket-fuzz.test.ts";
/** "Answers within a few seconds": a health request waits at most this long. */
const ANSWER_MS = 5_000;
const HALF_OPEN = 64;
const BURST = 200;

async function openFds(pid: number): Promise<number> {
  return (await readdir(`/proc/${pid}/fd`)).length;
}

async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]) * 1024;
}

describe("daemon socket fuzz", () => {
  let box: DaemonSandbox;
  let socketPath: string;
  let pid: number;

  beforeAll(async () => {
    box = await DaemonSandbox.create("sockfuzz", { endpoint: s3TestEnv().endpoint });
    await box.ok(["daemon", "start"]);
    pid = (await box.pid()) as number;
    socketPath = join(box.stateDir, "daemon", "quilt.sock");
  });

  afterAll(async () => {
    await box?.cleanup();
  });

  it(
    "stays up, answers, refuses bad requests as the caller's fault and frees every descriptor",
    { timeout: 240_000 },
    async () => {
      const run = fuzzRun("socket fuzz", 15_000);
      const health = new DaemonClient(socketPath);
      // Baseline once the daemon has served a few requests (lazily opened files are open by then).
      for (const op of ["ping", "list", "stats"] as const)
        await health.request(op, {}, { timeoutMs: ANSWER_MS });
      await sleep(200);
      const baseline = await openFds(pid);
      const problems: string[] = [];
      const deadline = Date.now() + run.budgetMs;
      let release!: () => void;
      const released = new Promise<void>((r) => (release = r));

      // Health checks all along: `quilt mounts` (list) and ping must keep answering.
      let checks = 0;
      const monitor = (async () => {
        while (Date.now() < deadline) {
          for (const op of ["list", "ping"] as const) {
            await health.request(op, {}, { timeoutMs: ANSWER_MS }).then(
              () => checks++,
              (err: unknown) =>
                problems.push(`health ${op} at ${new Date().toISOString()}: ${(err as Error).message}`),
            );
          }
          await sleep(250);
        }
      })();

      // Numbered apart from the workers' cases (each client its own PRNG: connections complete in any order).
      const halfOpen = Array.from({ length: HALF_OPEN }, (_, i) =>
        halfOpenClient(socketPath, caseRng(run.seed, 10_000_000 + i), released),
      );
      const slow = Array.from({ length: 4 }, (_, i) => slowClient(socketPath, 100 + i, `slow ${i}`));
      // Workers: each runs cases (its own numbering) until the budget is spent.
      let cases = 0;
      const only = caseIndices();
      const worker = async (w: number) => {
        for (let i = 0; only ? i < only.length && w === 0 : Date.now() < deadline; i++) {
          const index = only ? (only[i] as number) : w * 1_000_000 + i;
          const r = caseRng(run.seed, index);
          const label = `case ${index}`;
          const kind = r.int(0, 19);
          const found =
            kind === 0
              ? await oversizeClient(socketPath, r, label)
              : kind <= 3
                ? await rudeClient(socketPath, r)
                : kind === 4
                  ? await burst(socketPath, BURST, label)
                  : await fuzzClient(socketPath, r, label);
          problems.push(...found.map((p) => `${p} (${reproduce(run, FILE, index)})`));
          cases++;
        }
      };
      await Promise.all([0, 1, 2, 3].map(worker));
      problems.push(...(await Promise.all(slow)).flat());
      // During the run the half-open clients held their connections (and descriptors).
      const during = await openFds(pid);
      release();
      await Promise.all(halfOpen);
      await monitor;

      expect(problems, reproduce(run, FILE)).toEqual([]);
      expect(processAlive(pid), "the daemon is still running").toBe(true);
      expect(await box.pid(), "the same daemon").toBe(pid);
      expect(await health.request("list", {}, { timeoutMs: ANSWER_MS })).toEqual([]);
      expect(during).toBeGreaterThanOrEqual(baseline + HALF_OPEN);
      // Every connection's descriptor is closed once its client is gone.
      await waitFor(
        async () => (await openFds(pid)) <= baseline,
        15_000,
        `the daemon's descriptors to return to ${baseline}`,
      ).catch(async (err: unknown) => {
        throw new Error(`${(err as Error).message}: ${await openFds(pid)} open; ${reproduce(run, FILE)}`);
      });
      console.log(
        `socket fuzz: ${cases} cases, ${checks} health answers, descriptors ${baseline} -> ${during} -> ${await openFds(pid)}`,
      );
      // Nothing failed inside the daemon, not even for clients gone before their reply.
      const log = await readFile(box.logFile, "utf8");
      expect(log).not.toMatch(/uncaught|unhandled/i);
      expect(log).not.toContain('"msg":"request failed"');
    },
  );

  it("refuses a missing, relative or non-string mountpoint as bad usage, not an internal error", async () => {
    const client = new DaemonClient(socketPath);
    for (const op of ["unmount", "status", "verify", "force-match", "mount"] as const) {
      for (const mountpoint of [undefined, 5, null, ["/x"], { toString: 1 }, "relative/dir"]) {
        const params = { mountpoint, ...(op === "mount" && { spec: "ns/name", registry: "s3://bucket" }) };
        await expect(
          client.request(op, params as never), // wrong on purpose: the typed client would not send it
          `${op} ${JSON.stringify(mountpoint)}`,
        ).rejects.toMatchObject({
          code: "EUSAGE",
          message: expect.stringContaining('absolute "mountpoint"'),
        });
      }
    }
  });

  it(
    "holds replies for a client that sends requests without reading: the daemon's memory stays bounded",
    { timeout: 120_000 },
    async () => {
      const before = await rssBytes(pid);
      const { socket } = await openRaw(socketPath);
      socket.pause(); // never read: replies pile up in the daemon unless it stops reading too
      const batch = Buffer.from(`${JSON.stringify({ id: 1, v: 1, op: "ping" })}\n`.repeat(1 << 15)); // ~1 MiB
      for (let i = 0; i < 64; i++) socket.write(batch);
      // Watch until the daemon stops taking bytes for 3 s (it read them all, or stopped reading).
      let peak = before;
      let left = socket.writableLength;
      for (let still = 0; still < 30 && left > 0;) {
        await sleep(100);
        peak = Math.max(peak, await rssBytes(pid));
        still = socket.writableLength === left ? still + 1 : 0;
        left = socket.writableLength;
      }
      socket.destroy();
      console.log(
        `pipelining without reading: daemon RSS ${Math.round(before / 2 ** 20)} -> peak ${Math.round(peak / 2 ** 20)} MiB, ${Math.round(left / 2 ** 20)} MiB never read`,
      );
      expect(peak - before, "daemon memory growth").toBeLessThan(64 * 2 ** 20);
      expect(await new DaemonClient(socketPath).request("ping", {}, { timeoutMs: ANSWER_MS })).toMatchObject({
        pid,
      });
    },
  );
});
