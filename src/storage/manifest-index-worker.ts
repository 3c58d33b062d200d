// The body of a manifest index build's worker thread (manifest-index-build.ts): one build,
// one reply, and the thread ends, taking the parse's heap with it.
import { parentPort } from "node:worker_threads";
import { serializeError } from "../worker-spec.js";
import {
  buildFromSource,
  transferable,
  type WorkerReply,
  type WorkerRequest,
} from "./manifest-index-build.js";
import { ManifestIndex } from "./manifest-index.js";

parentPort?.once("message", (request: WorkerRequest) => {
  const bytes = "bytes" in request.source ? request.source.bytes : undefined;
  void (async (): Promise<WorkerReply> => {
    const index = ManifestIndex.open(request.dir);
    try {
      // A fetched manifest's bytes go back to the daemon, which keeps them in its manifest cache.
      return {
        ok: true,
        result: await buildFromSource(index, request.id, request.source),
        ...(bytes && { bytes }),
      };
    } catch (err) {
      return { ok: false, error: serializeError(err) };
    } finally {
      await index.close();
    }
  })().then((reply) => parentPort?.postMessage(reply, reply.ok ? transferable(bytes) : []));
});
