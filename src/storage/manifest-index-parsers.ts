// Parse workers for the index build (manifest-index-build.ts): a large manifest's segments
// are parsed on several cores at once, while the build's thread hashes their results and
// writes them in order. A worker that fails (it should not: a refused line comes back as
// the segment's error) fails every segment it was given.
import { availableParallelism } from "node:os";
import type { Worker } from "node:worker_threads";
import { QuiltError } from "../errors.js";
import { startWorker, transferable } from "../worker-spec.js";
import type { ParsedSegment } from "./manifest-index-segment.js";

export type SegmentRequest = { id: number; bytes: Uint8Array; first: number };
export type SegmentReply = { id: number; parsed: ParsedSegment };

/**
 * Parse workers to start for a build: one per core but the build's own, at most 8 (the
 * build's thread, hashing and writing in order, can keep up with about that many), and at
 * least 2: on two cores the build's thread waits on the parse for much of the time.
 */
export function defaultParseThreads(): number {
  return Math.max(2, Math.min(8, availableParallelism() - 1));
}

interface Waiting {
  resolve: (parsed: ParsedSegment) => void;
  reject: (err: Error) => void;
}

export class SegmentParsers {
  private readonly workers: { worker: Worker; waiting: Map<number, Waiting> }[] = [];
  private next = 0;

  constructor(threads: number) {
    for (let i = 0; i < threads; i++) {
      const worker = startWorker(import.meta.url, "manifest-index-parse-worker");
      const waiting = new Map<number, Waiting>();
      const failAll = (err: Error) => {
        for (const w of waiting.values()) w.reject(err);
        waiting.clear();
      };
      worker.on("message", ({ id, parsed }: SegmentReply) => {
        waiting.get(id)?.resolve(parsed);
        waiting.delete(id);
      });
      worker.on("error", failAll);
      worker.on("exit", (code) =>
        failAll(new QuiltError("EINTERNAL", `A manifest index parse worker exited (${code})`)),
      );
      this.workers.push({ worker, waiting });
    }
  }

  /**
   * Segment `bytes` (whose first line is line `first`) parsed by the least busy worker. Its
   * buffer is moved to the worker when it owns it whole; a view into a larger one (a fetched
   * manifest's bytes) is copied out first, since posting a view clones its whole buffer.
   */
  parse(segment: Uint8Array, first: number): Promise<ParsedSegment> {
    const bytes = transferable(segment).length ? segment : segment.slice();
    const id = this.next++;
    const target = this.workers.reduce((a, b) => (b.waiting.size < a.waiting.size ? b : a));
    const parsed = new Promise<ParsedSegment>((resolve, reject) =>
      target.waiting.set(id, { resolve, reject }),
    );
    const request: SegmentRequest = { id, bytes, first };
    target.worker.postMessage(request, transferable(bytes));
    return parsed;
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map(({ worker }) => worker.terminate()));
  }
}
