// Benchmark (not a test) of dropping an indexed version from the manifest index (issue 13,
// "also open": eviction): how long the thread that drops it (the daemon's, which answers
// every FUSE request of every mount) is kept from running anything else. A generated
// manifest (scripts/bench-million.ts's shape) is indexed on real LMDB, then dropped as
// eviction does, alternately in one write transaction (the baseline: how every drop went
// before manifest-index-drop.ts) and in its bounded batches; a probe on the event loop
// (a chain of setImmediate callbacks) records the longest gap between two of its turns.
// Each drop starts cold (index closed, page cache dropped: root only; --warm keeps it, for
// trials on a machine others measure on), as a version no mount used for a while would.
// The same for a version found damaged (one byte of one file node flipped on disk, found by
// a read): dropped at once by the reading thread as before (the baseline), and as a daemon
// drops it now, hidden at once and removed in the background (IndexUpkeep).
// Writes an "Index drop" section into docs/BENCHMARKS.md.
//
//   npx tsx scripts/bench-index-drop.ts [--files 1000000] [--flat 100000] [--rounds 2] [--warm] [--no-write]
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { setImmediate as nextTurn } from "node:timers/promises";
import { parseArgs } from "node:util";
import { open } from "lmdb";
import { bigManifest } from "../test/helpers/big-manifest.js";
import { IndexUpkeep } from "../src/daemon/index-upkeep.js";
import { betweenBuilds } from "../src/daemon/indexed-version.js";
import { hashValue, type Manifest } from "../src/manifest/manifest.js";
import { ManifestIndex, versionKey, type VersionId } from "../src/storage/manifest-index.js";
import { DROP_BATCH_RECORDS, removeInBatches } from "../src/storage/manifest-index-drop.js";
import { recordKey, TAG_FILES } from "../src/storage/manifest-index-keys.js";
import { dropPageCache, intOption, MiB, sharedRunLine, writeSection } from "./bench-support.js";

const START = "<!-- bench-index-drop:start -->";
const END = "<!-- bench-index-drop:end -->";

const { values: args } = parseArgs({
  options: {
    files: { type: "string" },
    flat: { type: "string" },
    rounds: { type: "string" },
    warm: { type: "boolean", default: false },
    "no-write": { type: "boolean", default: false },
  },
});
const FILES = intOption(args.files, "BENCH_FILES", 1_000_000);
const FLAT = intOption(args.flat, "BENCH_FLAT", Math.min(100_000, Math.floor(FILES / 10)));
const ROUNDS = intOption(args.rounds, "BENCH_ROUNDS", 2);

/** The longest gap between two turns of the event loop while it runs (ms). */
function loopProbe(): { stop: () => number } {
  let last = performance.now();
  let longest = 0;
  let running = true;
  const tick = () => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
    if (running) setImmediate(tick);
  };
  setImmediate(tick);
  return {
    stop: () => {
      running = false;
      return longest;
    },
  };
}

const MODES = ["one transaction", "batches", "damaged, at once", "damaged, in the background"] as const;

interface Drop {
  mode: (typeof MODES)[number];
  records: number;
  /** Records still there once it returned (all of them when it failed). */
  left: number;
  failed?: string;
  freedMiB: number;
  seconds: number;
  transactions: number;
  longestMs: number;
}

/** The file whose node is damaged on disk for the damaged modes (in the first page of nodes). */
const VICTIM = 100;

/** Flips one byte of the victim's hash in its page of nodes, with the index at `dir` closed, as a bad sector would. */
async function damage(dir: string, id: VersionId, manifest: Manifest): Promise<void> {
  const raw = open<Buffer, Buffer>({ path: dir, keyEncoding: "binary", encoding: "binary" });
  const key = recordKey(versionKey(id), TAG_FILES, 0);
  const page = Buffer.from(raw.get(key) as Buffer);
  const at = page.indexOf(hashValue(manifest.entries[VICTIM] as Manifest["entries"][number]));
  if (at < 0) throw new Error("the victim's hash is not in the first page");
  page[at] = page[at] === 0x30 ? 0x31 : 0x30;
  await raw.put(key, page);
  await raw.close();
}

/** Drops the version: hidden and removed as eviction does, or found damaged by a read. */
async function remove(
  index: ManifestIndex,
  vid: Buffer,
  records: number,
  mode: Drop["mode"],
): Promise<number> {
  if (mode === "one transaction" || mode === "batches") {
    index.hide(vid);
    const done = await removeInBatches(index, vid, {
      batchRecords: mode === "batches" ? DROP_BATCH_RECORDS : Infinity,
    });
    return 1 + done.transactions;
  }
  // A daemon's index has IndexUpkeep's removal installed; without one, the reader removes at once.
  const upkeep =
    mode === "damaged, in the background" ? new IndexUpkeep(index, Infinity, () => []) : undefined;
  try {
    index.fileNode(vid, VICTIM);
    throw new Error("the damaged node was read");
  } catch (err) {
    if (!(err instanceof Error) || !/damaged record/.test(err.message)) throw err;
  }
  // Queued behind the removal (removals and builds of a version never overlap): runs once it is done.
  await betweenBuilds(index, vid, () => Promise.resolve());
  await upkeep?.stop();
  // Both remove in batches of DROP_BATCH_RECORDS after the hide; they differ in yielding between them.
  return 1 + Math.floor((records - 1) / DROP_BATCH_RECORDS) + 1;
}

async function dropOnce(index: ManifestIndex, id: VersionId, mode: Drop["mode"]): Promise<Drop> {
  const vid = versionKey(id);
  const records = index.recordCount(id);
  const used = index.usedBytes();
  const probe = loopProbe();
  await nextTurn();
  const t0 = performance.now();
  let failed: string | undefined;
  let transactions = 0;
  try {
    transactions = await remove(index, vid, records, mode);
  } catch (err) {
    // One transaction of a large version fails (LMDB's MDB_TXN_FULL) after holding the thread.
    failed = err instanceof Error ? err.message.split("\n")[0] : String(err);
  }
  const seconds = (performance.now() - t0) / 1000;
  await nextTurn();
  const longestMs = probe.stop();
  const left = index.recordCount(id);
  const freedMiB = (used - index.usedBytes()) / MiB;
  // A failed drop's records are removed by the next build of the version (it removes what is left first).
  if (!failed && left !== 0) throw new Error("the drop left records");
  return {
    mode,
    records,
    left,
    freedMiB,
    seconds,
    transactions,
    longestMs,
    failed,
  };
}

async function main(): Promise<void> {
  const scratch = await mkdtemp(join(tmpdir(), "quilt-bench-index-drop-"));
  const dir = join(scratch, "manifests");
  let index = ManifestIndex.open(dir);
  let cold = true;
  try {
    const manifest = bigManifest({ files: FILES, perDir: 1000, flat: FLAT, seed: "drop" });
    const id: VersionId = { registry: "file:///bench", name: "bench/drop", topHash: manifest.topHash };
    const drops: Drop[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      for (const mode of MODES) {
        // Reopened first: a failed transaction must not leave this handle in a bad state.
        await index.close();
        index = ManifestIndex.open(dir);
        index.build(id, manifest);
        // As a daemon finds a version no mount used for a while: its pages not in memory.
        await index.close();
        if (mode.startsWith("damaged")) await damage(dir, id, manifest);
        cold = !args.warm && dropPageCache() && cold;
        index = ManifestIndex.open(dir);
        const d = await dropOnce(index, id, mode);
        console.error(JSON.stringify(d));
        drops.push(d);
      }
    }
    const worst = (mode: Drop["mode"]) =>
      Math.max(...drops.filter((d) => d.mode === mode).map((d) => d.longestMs));
    const ms = (x: number) => `${x.toFixed(x < 10 ? 1 : 0)} ms`;
    const section = [
      START,
      "## Index drop: how long the daemon's thread waits (scripts/bench-index-drop.ts)",
      "",
      sharedRunLine(),
      "",
      `A generated manifest of ${FILES.toLocaleString("en")} entries (directories of 1,000 and one flat directory of ${FLAT.toLocaleString("en")}), indexed on LMDB and dropped as eviction drops an unused version, ${ROUNDS} times each way, alternately. ` +
        "The longest wait is the longest gap between two turns of a probe on the event loop (a chain of setImmediate callbacks): what a FUSE request of any mount would have waited at worst. " +
        (cold
          ? "Before each drop the index was closed and the kernel's page cache dropped, as for a version no mount used for a while. "
          : "The page cache was not dropped (not root, or --warm): the index's pages were in memory, which favours every way. ") +
        `The baseline is the drop as it was before: every record removed in one write transaction; now the header goes first, then at most ${DROP_BATCH_RECORDS} records per transaction with the event loop running between them. ` +
        "A version found damaged (one byte of one file node flipped on disk, the drop started by the read that found it) was dropped at once by the reading thread, in those batches but without yielding (the baseline); a daemon now hides it at once and removes it in the background, yielding between batches. " +
        "Its total time runs from that read until the last record is gone.",
      "",
      "| Drop | Records | Outcome | Freed | Total time | Transactions | Longest wait |",
      "|---|---|---|---|---|---|---|",
      ...drops.map(
        (d) =>
          `| ${d.mode} | ${d.records.toLocaleString("en")} | ${d.failed ? `failed (${d.failed}), ${d.left.toLocaleString("en")} records left` : "dropped"} | ${d.freedMiB.toFixed(0)} MiB | ${ms(d.seconds * 1000)} | ${d.transactions} | ${ms(d.longestMs)} |`,
      ),
      `| longest wait, batches / one transaction | | | | | | ${(worst("batches") / worst("one transaction")).toFixed(3)}× |`,
      `| longest wait, damaged: in the background / at once | | | | | | ${(worst("damaged, in the background") / worst("damaged, at once")).toFixed(3)}× |`,
      ...(drops.some((d) => d.failed)
        ? [
            "",
            "The drop in one transaction failed at this size: LMDB refused it (lmdb-js logs `del failed, MDB_TXN_FULL: Transaction has too many dirty pages`, then throws at the commit) after holding the thread for the time shown, and removed nothing. " +
              "Before this change, eviction and `quilt cache clear` therefore could not drop a version this large at all (the daemon logged a warning and kept it), and a build's removal of what a killed build of such a version left, also one transaction, would fail the same way. " +
              "The ratio compares the batches' longest wait with the time the failing transaction held the thread.",
          ]
        : []),
      END,
    ].join("\n");
    console.log(section);
    if (!args["no-write"]) await writeSection(START, END, section);
  } finally {
    await index.close();
    await rm(scratch, { recursive: true, force: true });
  }
}

await main();
