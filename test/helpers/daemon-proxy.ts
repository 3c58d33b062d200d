// An HTTP proxy between a daemon and moto that records every request and can make S3 fail:
// GETs of chosen keys answer 500 InternalError until told otherwise, so the daemon's
// bounded retries run out and the read fails (EIO), and the next read, once the fault is
// cleared, must work. GETs can also be slowed down, to catch a daemon in the middle of a
// read. Also independent evidence of which object bodies the daemon fetched.
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from "node:http";

export interface SeenRequest {
  method: string;
  bucket: string;
  key: string;
  query: string;
  range: string | undefined;
  status: number;
}

export interface FaultProxy {
  endpoint: string;
  requests: SeenRequest[];
  /** Object-body GETs (not listings) of keys containing `part`. */
  gets(part: string): SeenRequest[];
  /** GETs of keys containing `part` answer 500 until clearFaults(). */
  failGets(part: string): void;
  /** GETs of keys containing `part` wait `ms` before going upstream, until clearFaults(). */
  delayGets(part: string, ms: number): void;
  clearFaults(): void;
  close(): Promise<void>;
}

const INTERNAL_ERROR = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InternalError</Code><Message>injected by the test proxy</Message></Error>`;

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  const requests: SeenRequest[] = [];
  const failing = new Set<string>();
  const delays = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://proxy");
    const [, bucket = "", ...rest] = url.pathname.split("/");
    const seen: SeenRequest = {
      method: req.method ?? "",
      bucket: decodeURIComponent(bucket),
      key: decodeURIComponent(rest.join("/")),
      query: url.search,
      range: typeof req.headers.range === "string" ? req.headers.range : undefined,
      status: 0,
    };
    requests.push(seen);
    if (seen.method === "GET" && seen.key !== "" && [...failing].some((p) => seen.key.includes(p))) {
      seen.status = 500;
      req.resume();
      res.writeHead(500, { "content-type": "application/xml", "content-length": Buffer.byteLength(INTERNAL_ERROR) });
      res.end(INTERNAL_ERROR);
      return;
    }
    const delay = seen.method === "GET" ? Math.max(0, ...[...delays].filter(([p]) => seen.key.includes(p)).map(([, ms]) => ms)) : 0;
    if (delay > 0) setTimeout(() => forward(req, res, seen), delay);
    else forward(req, res, seen);
  });
  const forward = (req: IncomingMessage, res: ServerResponse, seen: SeenRequest): void => {
    const headers = { ...req.headers };
    delete headers.expect;
    const up = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers }, (upRes: IncomingMessage) => {
      seen.status = upRes.statusCode ?? 0;
      res.writeHead(seen.status, upRes.headers);
      upRes.pipe(res);
    });
    up.on("error", (err) => res.destroy(err));
    req.pipe(up);
  };
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    gets: (part) => requests.filter((r) => r.method === "GET" && r.key.includes(part) && !/[?&](list-type|versions|uploads)(=|&|$)/.test(r.query)),
    failGets: (part) => failing.add(part),
    delayGets: (part, ms) => delays.set(part, ms),
    clearFaults: () => {
      failing.clear();
      delays.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
