// A local HTTP server whose answers a test scripts one request at a time, standing in for
// S3 when what matters is how the store reacts to each answer (retries, error mapping, the
// direct GET path): real SDK, real sockets, no S3.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export const s3Error = (res: ServerResponse, status: number, code: string): void => {
  res.writeHead(status, { "content-type": "application/xml" });
  res.end(
    `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${code}</Message></Error>`,
  );
};

export const okBody = (res: ServerResponse, body: string): void => {
  res.writeHead(200, { "content-length": String(Buffer.byteLength(body)), etag: '"abc"' });
  res.end(body);
};

export interface ScriptedServer {
  endpoint: string;
  close(): Promise<void>;
}

/**
 * Each request is shown to `seen`, then answered by the next handler `next()` gives, or by
 * a 500 NoScript when the script has run out (so an unexpected request fails loudly).
 */
export async function startScriptedServer(
  next: () => Handler | undefined,
  seen: (req: IncomingMessage) => void,
): Promise<ScriptedServer> {
  const server: Server = createServer((req, res) => {
    seen(req);
    req.resume();
    const handler = next();
    if (handler) handler(req, res);
    else s3Error(res, 500, "NoScript");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
