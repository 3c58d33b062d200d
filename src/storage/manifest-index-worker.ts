// The body of a manifest index build's worker thread (manifest-index-build.ts): one build,
// one reply, and the thread ends, taking the parse's heap (and a fetched manifest's bytes,
// kept in the manifest cache by the build) with it.
import { parentPort } from "node:worker_threads";
import { serializeError } from "../worker-spec.js";
import { buildFromSource, type IndexBuildReply, type IndexBuildRequest } from "./manifest-index-build.js";
import { ManifestIndex } from "./manifest-index.js";

parentPort?.once("message", (request: IndexBuildRequest) => {
  void (async (): Promise<IndexBuildReply> => {
    const index = ManifestIndex.open(request.dir);
    try {
      return { ok: true, result: await buildFromSource(index, request.id, request.source, request.options) };
    } catch (err) {
      return { ok: false, error: serializeError(err) };
    } finally {
      await index.close();
    }
  })().then((reply) => parentPort?.postMessage(reply));
});
