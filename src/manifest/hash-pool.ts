// Hashing many files (building or pushing a package from a directory) is CPU-bound, and one
// thread of sha256 leaves the other cores idle. This pool of worker threads (hash-worker.ts)
// hashes files in batches, so thousands of small files do not cost a message each, and
// splits a large `sha2-256-chunked` file into chunk ranges so even one file uses every core.
// Threads start on first use and are unref'd while idle: the pool never keeps a process alive.
import { availableParallelism } from "node:os";
import { stat } from "node:fs/promises";
import type { Worker } from "node:worker_threads";
import { deserializeError, startWorker } from "../worker-spec.js";
import { QuiltError } from "../errors.js";
import { onShutdown } from "../shutdown.js";
import {
  DEFAULT_HASH_TYPE,
  SHA256_DIGEST_BYTES,
  assertHashType,
  chunkSizeFor,
  combineChunkDigests,
  hashFileSized,
  type HashType,
  type HashedFile,
} from "./checksums.js";
import type { TaskResult, WorkerReply, WorkerRequest, WorkerTask } from "./hash-worker.js";

/** Most tasks in one message; ~64 files of 100 KiB is ~5 ms of hashing against ~50 µs of messaging. */
const MAX_BATCH_TASKS = 64;
/** Batches queued per thread, so a thread never waits for the main thread between two batches. */
const IN_FLIGHT_PER_WORKER = 2;
/** Files above this many bytes (64 MiB) are split over the threads instead of hashed by one. */
const SPLIT_ABOVE_BYTES = 64 * 1024 * 1024;
/** Bytes per range of a split file: 32 MiB is ~20 ms of sha256, fine-grained enough to balance. */
const RANGE_TARGET_BYTES = 32 * 1024 * 1024;
/** Up to this many files totalling up to 8 MiB are hashed on the calling thread: starting threads costs more. */
const MAIN_THREAD_MAX_FILES = 4;
const MAIN_THREAD_MAX_BYTES = 8 * 1024 * 1024;

export interface HashProgress {
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
}

export interface HashFilesOptions {
  onProgress?: (progress: HashProgress) => void;
}

interface Split {
  digests: Buffer;
  rangesLeft: number;
  size: number;
}

interface Job {
  type: HashType;
  results: (HashedFile | undefined)[];
  splits: Map<number, Split>;
  progress: HashProgress;
  onProgress: ((progress: HashProgress) => void) | undefined;
  failed: boolean;
  resolve: (results: HashedFile[]) => void;
  reject: (err: unknown) => void;
}

interface Unit {
  job: Job;
  index: number;
  task: WorkerTask;
}

interface Slot {
  worker: Worker;
  inFlight: Map<number, Unit[]>;
}

export class HashPool {
  readonly threads: number;
  private readonly slots: Slot[] = [];
  private ranges: Unit[] = []; // ranges of split files go first: their file is half done
  private queue: Unit[] = [];
  private queueHead = 0;
  private nextId = 1;

  constructor(options: { threads?: number } = {}) {
    this.threads = Math.max(1, options.threads ?? availableParallelism());
  }

  /** Hashes every file; results are in the order of `paths`. The first failure rejects. */
  async hashFiles(
    paths: readonly string[],
    type: HashType = DEFAULT_HASH_TYPE,
    options: HashFilesOptions = {},
  ): Promise<HashedFile[]> {
    assertHashType(type);
    if (paths.length === 0) return [];
    if (this.slots.length === 0 && paths.length <= MAIN_THREAD_MAX_FILES) {
      const sizes = await Promise.all(paths.map(async (p) => (await stat(p)).size));
      if (sizes.reduce((a, b) => a + b, 0) <= MAIN_THREAD_MAX_BYTES) {
        const results = await Promise.all(paths.map((p) => hashFileSized(p, type)));
        const bytesDone = results.reduce((a, r) => a + r.size, 0);
        options.onProgress?.({ filesDone: results.length, filesTotal: results.length, bytesDone });
        return results;
      }
    }
    return new Promise<HashedFile[]>((resolve, reject) => {
      const job: Job = {
        type,
        results: new Array<HashedFile | undefined>(paths.length).fill(undefined),
        splits: new Map(),
        progress: { filesDone: 0, filesTotal: paths.length, bytesDone: 0 },
        onProgress: options.onProgress,
        failed: false,
        resolve,
        reject,
      };
      paths.forEach((path, index) => {
        this.queue.push({ job, index, task: { kind: "file", type, path, splitAbove: SPLIT_ABOVE_BYTES } });
      });
      this.dispatch();
    });
  }

  /** Stops the threads; jobs still running fail. The pool starts new threads if used again. */
  async close(): Promise<void> {
    const slots = this.slots.splice(0);
    const err = new QuiltError("EABORTED", "the hash pool was closed while hashing");
    for (const unit of [...this.ranges, ...this.queue.slice(this.queueHead)]) this.fail(unit.job, err);
    for (const slot of slots)
      for (const units of slot.inFlight.values()) for (const u of units) this.fail(u.job, err);
    this.ranges = [];
    this.queue = [];
    this.queueHead = 0;
    await Promise.all(slots.map((slot) => slot.worker.terminate()));
  }

  private pendingUnits(): number {
    return this.ranges.length + this.queue.length - this.queueHead;
  }

  private dispatch(): void {
    while (this.pendingUnits() > 0) {
      const slot = this.freeSlot();
      if (!slot) return;
      // Batches shrink as the queue drains, so the last ones spread evenly over the threads.
      const perBatch = Math.ceil(this.pendingUnits() / (this.threads * IN_FLIGHT_PER_WORKER * 2));
      const units = this.takeUnits(Math.min(MAX_BATCH_TASKS, Math.max(1, perBatch)));
      if (units.length === 0) return;
      const id = this.nextId++;
      if (slot.inFlight.size === 0) slot.worker.ref();
      slot.inFlight.set(id, units);
      const request: WorkerRequest = { id, tasks: units.map((u) => u.task) };
      slot.worker.postMessage(request);
    }
  }

  private takeUnits(max: number): Unit[] {
    const units: Unit[] = [];
    while (units.length < max) {
      let unit = this.ranges.shift();
      if (!unit) {
        if (this.queueHead >= this.queue.length) break;
        unit = this.queue[this.queueHead++] as Unit;
        if (this.queueHead === this.queue.length) {
          this.queue = [];
          this.queueHead = 0;
        }
      }
      if (!unit.job.failed) units.push(unit);
    }
    return units;
  }

  /** The least busy thread that can take another batch, starting threads up to `threads`. */
  private freeSlot(): Slot | undefined {
    let best: Slot | undefined;
    for (const slot of this.slots) if (!best || slot.inFlight.size < best.inFlight.size) best = slot;
    if ((!best || best.inFlight.size > 0) && this.slots.length < this.threads) return this.spawn();
    return best && best.inFlight.size < IN_FLIGHT_PER_WORKER ? best : undefined;
  }

  private spawn(): Slot {
    const worker = startWorker(import.meta.url, "hash-worker");
    worker.unref();
    const slot: Slot = { worker, inFlight: new Map() };
    this.slots.push(slot);
    worker.on("message", (reply: WorkerReply) => this.onReply(slot, reply));
    worker.on("error", (err) => this.onWorkerGone(slot, err.message));
    worker.on("exit", (code) => this.onWorkerGone(slot, `exited with code ${code}`));
    return slot;
  }

  private onWorkerGone(slot: Slot, why: string): void {
    const at = this.slots.indexOf(slot);
    if (at < 0) return; // closed, or already handled by the "error" event
    this.slots.splice(at, 1);
    const err = new QuiltError("EINTERNAL", `a hashing thread failed: ${why}`);
    for (const units of slot.inFlight.values()) for (const unit of units) this.fail(unit.job, err);
    slot.inFlight.clear();
    void slot.worker.terminate();
    this.dispatch();
  }

  private onReply(slot: Slot, reply: WorkerReply): void {
    const units = slot.inFlight.get(reply.id) ?? [];
    slot.inFlight.delete(reply.id);
    if (slot.inFlight.size === 0) slot.worker.unref();
    const touched = new Set<Job>();
    units.forEach((unit, i) => {
      const result = reply.results[i];
      if (!unit.job.failed && result) {
        this.apply(unit, result);
        touched.add(unit.job);
      }
    });
    for (const job of touched) this.report(job);
    this.dispatch();
  }

  private apply(unit: Unit, result: TaskResult): void {
    const { job, index, task } = unit;
    if (!result.ok) return this.fail(job, deserializeError(result.error));
    if (result.kind === "file") {
      job.results[index] = { hash: result.hash, size: result.size };
      job.progress.filesDone++;
      job.progress.bytesDone += result.size;
    } else if (result.kind === "split") {
      this.split(unit, result.size);
    } else if (task.kind === "range") {
      const split = job.splits.get(index) as Split;
      Buffer.from(result.digests).copy(split.digests, (task.offset / task.chunkBytes) * SHA256_DIGEST_BYTES);
      job.progress.bytesDone += task.length;
      if (--split.rangesLeft === 0) {
        job.splits.delete(index);
        job.results[index] = {
          hash: { type: job.type, value: combineChunkDigests(split.digests) },
          size: split.size,
        };
        job.progress.filesDone++;
      }
    }
  }

  private split(unit: Unit, size: number): void {
    const chunkBytes = chunkSizeFor(size);
    const chunks = Math.ceil(size / chunkBytes);
    const rangeBytes = chunkBytes * Math.max(1, Math.floor(RANGE_TARGET_BYTES / chunkBytes));
    const ranges: Unit[] = [];
    for (let offset = 0; offset < size; offset += rangeBytes) {
      const length = Math.min(rangeBytes, size - offset);
      ranges.push({
        ...unit,
        task: { kind: "range", path: unit.task.path, size, offset, length, chunkBytes },
      });
    }
    unit.job.splits.set(unit.index, {
      digests: Buffer.alloc(chunks * SHA256_DIGEST_BYTES),
      rangesLeft: ranges.length,
      size,
    });
    this.ranges.push(...ranges);
  }

  private report(job: Job): void {
    if (job.failed) return;
    try {
      job.onProgress?.({ ...job.progress });
    } catch (err) {
      return this.fail(job, err);
    }
    if (job.progress.filesDone === job.results.length) job.resolve(job.results as HashedFile[]);
  }

  private fail(job: Job, err: unknown): void {
    if (job.failed) return;
    job.failed = true;
    job.reject(err);
  }
}

let shared: HashPool | undefined;

/** Hashes files on the process-wide pool (one thread per core). */
export function hashFiles(
  paths: readonly string[],
  type: HashType = DEFAULT_HASH_TYPE,
  options: HashFilesOptions = {},
): Promise<HashedFile[]> {
  if (shared === undefined) {
    shared = new HashPool();
    onShutdown(closeHashPool);
  }
  return shared.hashFiles(paths, type, options);
}

/** Stops the process-wide pool's threads (they are unref'd, so this is optional). */
export async function closeHashPool(): Promise<void> {
  const pool = shared;
  shared = undefined;
  await pool?.close();
}
