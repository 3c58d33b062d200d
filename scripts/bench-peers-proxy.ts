// A counting HTTP proxy in front of s3rver that every tool in scripts/bench-peers.ts talks
// to, so "MiB fetched from the server" is measured the same way for all of them, from
// outside the tools, whatever each one reports about itself. Requests pass through
// unchanged (the Host header too, so SigV4 signatures still verify); only response body
// bytes and request counts are added up.
//
// It runs in a process of its own: the bench drives the tools with synchronous child
// processes (quilt mount, find), which would block a proxy living on the bench's event
// loop while the tool waits on it. Run directly (`proxy TARGET`), it prints its endpoint
// and answers GET /__bench_counts with the counters as JSON (no S3 bucket can be named so).
import { spawn } from "node:child_process";
import { Agent, createServer, get, request, type IncomingMessage } from "node:http";
import { fileURLToPath } from "node:url";
import { stopProcess } from "../test/helpers/moto-server.js";

export interface Traffic {
  /** Response body bytes of GETs (object bodies and listings). */
  getBytes: number;
  /** Requests by method, e.g. GET, HEAD, PUT. */
  requests: Record<string, number>;
}

export interface CountingProxy {
  endpoint: string;
  /** The counters so far: subtract two snapshots to get what happened between them. */
  snapshot(): Promise<Traffic>;
  close(): Promise<void>;
}

const COUNTS_PATH = "/__bench_counts";

export function trafficDelta(before: Traffic, after: Traffic): Traffic {
  const requests: Record<string, number> = {};
  for (const [m, n] of Object.entries(after.requests)) {
    const d = n - (before.requests[m] ?? 0);
    if (d > 0) requests[m] = d;
  }
  return { getBytes: after.getBytes - before.getBytes, requests };
}

/** The proxy itself, in the current process; returns its port. */
async function serve(target: string): Promise<number> {
  const upstream = new URL(target);
  // Keep-alive upstream, with room for the most parallel of the tools (s3fs, rclone).
  const agent = new Agent({ keepAlive: true, maxSockets: 128 });
  const counts: Traffic = { getBytes: 0, requests: {} };
  const server = createServer((req, res) => {
    if (req.url === COUNTS_PATH) {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(counts));
      return;
    }
    const method = req.method ?? "?";
    counts.requests[method] = (counts.requests[method] ?? 0) + 1;
    const up = request(
      { host: upstream.hostname, port: upstream.port, method, path: req.url, headers: req.headers, agent },
      (upRes: IncomingMessage) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        if (method === "GET") upRes.on("data", (chunk: Buffer) => (counts.getBytes += chunk.length));
        upRes.pipe(res);
      },
    );
    up.on("error", (err) => res.destroy(err));
    // A client that hangs up mid-body (a reader that stopped early) ends the upstream request too.
    res.on("close", () => {
      if (!res.writableFinished) up.destroy();
    });
    req.pipe(up);
  });
  // Loopback only: nothing but the tools on this machine may reach it.
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const addr = server.address();
  return typeof addr === "object" && addr ? addr.port : 0;
}

/**
 * The counters, on a connection of their own: fetch() reuses an idle keep-alive connection
 * that the server may just be closing after a long measurement ("fetch failed").
 */
function counters(url: string): Promise<Traffic> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve(JSON.parse(body) as Traffic));
      res.on("error", reject);
    }).on("error", reject);
  });
}

/** Starts the proxy in a child process (this file, under the same Node flags, i.e. tsx). */
export async function startCountingProxy(target: string): Promise<CountingProxy> {
  const proc = spawn(
    process.execPath,
    [...process.execArgv, fileURLToPath(import.meta.url), "proxy", target],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    proc.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /^port (\d+)$/m.exec(out);
      if (m) resolve(Number(m[1]));
    });
    proc.once("exit", (code) => reject(new Error(`counting proxy exited with ${code}`)));
  });
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    snapshot: () => counters(`${endpoint}${COUNTS_PATH}`),
    close: () => stopProcess(proc),
  };
}

if (process.argv[2] === "proxy" && process.argv[3]) {
  const port = await serve(process.argv[3]);
  console.log(`port ${port}`);
}
