// The body of one hashing thread of the pool in hash-pool.ts. A worker thread exists only to
// hash, so it reads files with blocking calls: no thread-pool round trip per open, stat, read
// and close, which is what dominates when hashing thousands of small files.
//
// The pool sends batches of tasks and gets one reply per batch:
// - "file": hash a whole file; a `sha2-256-chunked` file larger than `splitAbove` is not hashed
//   but answered with "split" and its size, so the pool can spread its chunks over all threads;
// - "range": the raw `sha2-256-chunked` sha256 digests of consecutive chunks of one file (chunk-aligned).
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { createHash } from "node:crypto";
import { parentPort } from "node:worker_threads";
import { serializeError, type SerializedError } from "../worker-spec.js";
import { EntryHasher, SHA256_DIGEST_BYTES, fileChanged, type EntryHash, type HashType } from "./checksums.js";

export type WorkerTask =
  | { kind: "file"; type: HashType; path: string; splitAbove: number }
  | { kind: "range"; path: string; size: number; offset: number; length: number; chunkBytes: number };

export interface WorkerRequest {
  id: number;
  tasks: WorkerTask[];
}

export type TaskResult =
  | { ok: true; kind: "file"; hash: EntryHash; size: number }
  | { ok: true; kind: "split"; size: number }
  | { ok: true; kind: "range"; digests: Uint8Array }
  | { ok: false; error: SerializedError };

export interface WorkerReply {
  id: number;
  results: TaskResult[];
}

/**
 * Read size in bytes: one 4 MiB buffer per thread, reused for every file. Reads this large
 * cost about a millisecond each, so the per-read syscall overhead is negligible.
 */
const READ_BYTES = 4 * 1024 * 1024;
const buffer = Buffer.allocUnsafe(READ_BYTES);

/** Reads exactly `length` bytes from `position`, handing each piece to `sink`. */
function readExactly(
  fd: number,
  path: string,
  size: number,
  position: number,
  length: number,
  sink: (b: Buffer) => void,
) {
  let left = length;
  while (left > 0) {
    const n = readSync(fd, buffer, 0, Math.min(READ_BYTES, left), position);
    if (n === 0) throw fileChanged(path, size);
    sink(n === buffer.length ? buffer : buffer.subarray(0, n));
    position += n;
    left -= n;
  }
}

async function hashWholeFile(task: Extract<WorkerTask, { kind: "file" }>): Promise<TaskResult> {
  const { type } = task;
  const fd = openSync(task.path, "r");
  try {
    const { size } = fstatSync(fd);
    if (type === "sha2-256-chunked" && size > task.splitAbove) return { ok: true, kind: "split", size };
    const hasher = new EntryHasher(type, size);
    readExactly(fd, task.path, size, 0, size, (b) => hasher.update(b));
    return { ok: true, kind: "file", hash: await hasher.digest(), size };
  } finally {
    closeSync(fd);
  }
}

function hashRange(task: Extract<WorkerTask, { kind: "range" }>): TaskResult {
  const fd = openSync(task.path, "r");
  try {
    if (fstatSync(fd).size !== task.size) throw fileChanged(task.path, task.size);
    // Not allocUnsafe: small Buffers share a pooled ArrayBuffer, which must not be transferred.
    const digests = Buffer.allocUnsafeSlow(Math.ceil(task.length / task.chunkBytes) * SHA256_DIGEST_BYTES);
    for (let done = 0, i = 0; done < task.length; done += task.chunkBytes, i++) {
      const hash = createHash("sha256");
      const length = Math.min(task.chunkBytes, task.length - done);
      readExactly(fd, task.path, task.size, task.offset + done, length, (b) => hash.update(b));
      hash.digest().copy(digests, i * SHA256_DIGEST_BYTES);
    }
    return { ok: true, kind: "range", digests };
  } finally {
    closeSync(fd);
  }
}

async function handle(request: WorkerRequest): Promise<WorkerReply> {
  const results: TaskResult[] = [];
  for (const task of request.tasks) {
    try {
      results.push(task.kind === "file" ? await hashWholeFile(task) : hashRange(task));
    } catch (err) {
      results.push({ ok: false, error: serializeError(err) });
    }
  }
  return { id: request.id, results };
}

parentPort?.on("message", (request: WorkerRequest) => {
  void handle(request).then((reply) => {
    // Range digests are fresh buffers: move them instead of copying.
    const transfer = reply.results.flatMap((r) =>
      r.ok && r.kind === "range" ? [r.digests.buffer as ArrayBuffer] : [],
    );
    parentPort?.postMessage(reply, transfer);
  });
});
