// A direct GET's answers (s3-direct-get.ts) read as the SDK would give them: the body read
// whole and checked against its Content-Length, service errors and timeouts shaped like the
// SDK's, so that retry.ts classifies them, and s3-errors.ts maps them, the same either way.
import type { IncomingMessage } from "node:http";

/** The <Code> of an S3 error answer's XML body. */
export function errorCode(body: Buffer): string | undefined {
  return /<Code>([^<]+)<\/Code>/.exec(body.toString("utf8"))?.[1];
}

/** An error shaped like the SDK's for a service answer (name and Code from the XML body). */
export function serviceError(status: number, body: Buffer): Error {
  const code = errorCode(body) ?? `Http${status}`;
  const message = /<Message>([^<]*)<\/Message>/.exec(body.toString("utf8"))?.[1] ?? code;
  return Object.assign(new Error(message), { name: code, Code: code, $metadata: { httpStatusCode: status } });
}

/** Shaped like the SDK's own timeouts (@smithy/node-http-handler), which retry.ts classifies. */
export function timeoutError(message: string): Error {
  return Object.assign(new Error(message), { name: "TimeoutError", code: "ETIMEDOUT" });
}

/** A body shorter than its Content-Length is a dropped connection: transient, fetched again. */
export function readBody(res: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    res.on("data", (c: Buffer) => {
      chunks.push(c);
      total += c.length;
    });
    res.on("error", reject);
    res.on("aborted", () => reject(Object.assign(new Error("response aborted"), { code: "ECONNRESET" })));
    res.on("end", () => {
      const length = res.headers["content-length"];
      if (length !== undefined && Number(length) !== total)
        reject(
          Object.assign(new Error(`response body ended after ${total} of ${length} bytes`), {
            code: "ECONNRESET",
          }),
        );
      else resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, total));
    });
  });
}
