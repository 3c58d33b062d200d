// The body of a manifest index build's parse worker (manifest-index-parsers.ts): parses the
// segments it is sent, one at a time, and sends each back with its bytes (moved, not copied).
import { parentPort } from "node:worker_threads";
import { transferable } from "../worker-spec.js";
import { parseSegment } from "./manifest-index-segment.js";
import type { SegmentReply, SegmentRequest } from "./manifest-index-parsers.js";

parentPort?.on("message", ({ id, bytes, first }: SegmentRequest) => {
  const parsed = parseSegment(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), first);
  const reply: SegmentReply = { id, parsed };
  const { canonical, sizes, lines, starts, ends } = parsed;
  parentPort?.postMessage(reply, transferable(parsed.bytes, canonical, sizes, lines, starts, ends));
});
