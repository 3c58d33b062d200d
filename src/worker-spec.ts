// How to start a worker thread on one of our modules, from dist/ or from source, and carry
// its errors back.
import { Worker, type WorkerOptions } from "node:worker_threads";
import { errnoCode, QuiltError, type ErrorCode } from "./errors.js";

/** An error as it can cross the thread boundary (structured clone drops the class and fields). */
export interface SerializedError {
  quilt: boolean;
  code: string | undefined;
  message: string;
  hint: string | undefined;
}

export function serializeError(err: unknown): SerializedError {
  if (err instanceof QuiltError) return { quilt: true, code: err.code, message: err.message, hint: err.hint };
  const message = err instanceof Error ? err.message : String(err);
  return { quilt: false, code: errnoCode(err), message, hint: undefined };
}

export function deserializeError(error: SerializedError): Error {
  if (error.quilt) return new QuiltError(error.code as ErrorCode, error.message, { hint: error.hint });
  return Object.assign(new Error(error.message), error.code === undefined ? {} : { code: error.code });
}

/**
 * The worker's entry point `name` (without extension) next to the module at `moduleUrl`:
 * compiled `.js` in dist/, or the `.ts` source under vitest or tsx. A worker does not
 * inherit the parent's TypeScript loader, and Node 20 ignores `--import tsx` in a worker's
 * execArgv, so from source the worker is a two-line bootstrap that registers tsx's loader
 * in the worker and then imports the `.ts` entry.
 */
export function startWorker(moduleUrl: string, name: string, options: WorkerOptions = {}): Worker {
  if (moduleUrl.endsWith(".ts")) {
    const entry = new URL(`./${name}.ts`, moduleUrl).href;
    const tsx = import.meta.resolve("tsx/esm/api");
    const code = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
    return new Worker(code, { ...options, eval: true });
  }
  return new Worker(new URL(`./${name}.js`, moduleUrl), options);
}

/**
 * The buffers of `views` that can be moved to another thread: each one's whole buffer. A
 * view into a larger one (a slice, or Node's shared pool of small Buffers) is left out, to
 * be copied.
 */
export function transferable(...views: (ArrayBufferView | undefined)[]): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  for (const v of views)
    if (v !== undefined && v.byteOffset === 0 && v.byteLength === v.buffer.byteLength)
      out.add(v.buffer as ArrayBuffer);
  return [...out];
}
