// A proxy in front of S3 (moto) that holds one chosen request, for crash tests that kill -9
// a process at a chosen point from outside the code under test. A held PUT is never
// forwarded nor answered, so its object is not written; a held GET (one whose range holds a
// chosen object offset) is answered with its headers and its body up to that offset only.
// Either way the client waits, provably between the step before that request and the one
// after it, until the test kills it. Every other request goes through untouched; all are
// recorded.
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { isObjectBodyGet } from "./fault-proxy-s3.js";

export interface ProxiedRequest {
  method: string;
  /** The object key (path-style URL, bucket removed), "" for bucket-level requests. */
  key: string;
  query: string;
}

export interface HoldRule {
  method: "GET" | "PUT";
  /** Matches the object key: a substring, or a regular expression. */
  key: string | RegExp;
  /**
   * GET only: the object offset where the body stops (default 0: headers only). Only a GET
   * whose range holds this offset is held, after the bytes before it; others go through.
   */
  atOffset?: number;
}

export interface HoldProxy {
  endpoint: string;
  requests: ProxiedRequest[];
  /** Holds the first request matching `rule` (one rule at a time); resolves once it is held. */
  hold(rule: HoldRule): Promise<ProxiedRequest>;
  /** Forgets the rule and drops held connections (their clients see a reset), so a new run goes through. */
  release(): void;
  close(): Promise<void>;
}

/** The first and last object offsets a GET asks for (bytes=a-b, bytes=a-, none); suffix ranges are not used by our clients. */
function requestedRange(range: string | undefined): { first: number; last: number } {
  const m = /^bytes=(\d+)-(\d*)$/.exec(range ?? "");
  return m
    ? { first: Number(m[1]), last: m[2] === "" ? Infinity : Number(m[2]) }
    : { first: 0, last: Infinity };
}

/** A GET rule matches reads of object bytes only (not listings or subresources such as ?attributes) whose range holds its offset. */
const matches = (rule: HoldRule, req: ProxiedRequest, range: string | undefined): boolean => {
  if (
    req.method !== rule.method ||
    !(typeof rule.key === "string" ? req.key.includes(rule.key) : rule.key.test(req.key))
  )
    return false;
  if (rule.method === "PUT") return req.key !== "";
  const { first, last } = requestedRange(range);
  const at = rule.atOffset ?? 0;
  return isObjectBodyGet(req.method, req.key, req.query) && first <= at && at <= last;
};

export async function startHoldProxy(target: string): Promise<HoldProxy> {
  const upstream = new URL(target);
  const requests: ProxiedRequest[] = [];
  const heldSockets = new Set<Socket>();
  let pending: { rule: HoldRule; held: (req: ProxiedRequest) => void } | undefined;

  const holdSocket = (res: ServerResponse): void => {
    if (res.socket) heldSockets.add(res.socket);
  };

  const forward = (
    req: IncomingMessage,
    res: ServerResponse,
    holdAfter: number | undefined,
    onHeld: () => void,
  ): void => {
    const headers = { ...req.headers };
    delete headers.expect;
    const up = request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        res.on("close", () => upRes.destroy());
        if (holdAfter === undefined) {
          upRes.pipe(res);
          return;
        }
        let sent = 0;
        const stop = (): void => {
          upRes.destroy();
          holdSocket(res);
          onHeld();
        };
        if (holdAfter === 0) {
          res.flushHeaders();
          stop();
          return;
        }
        upRes.on("data", (chunk: Buffer) => {
          if (sent >= holdAfter) return;
          const out = chunk.subarray(0, holdAfter - sent);
          sent += out.length;
          // Called back once the bytes are handed to the socket: the client can have them.
          res.write(out, () => {
            if (sent >= holdAfter) stop();
          });
        });
      },
    );
    up.on("error", (err) => res.destroy(err));
    req.pipe(up);
  };

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://proxy");
    const [, , ...rest] = url.pathname.split("/");
    const seen: ProxiedRequest = {
      method: req.method ?? "",
      key: decodeURIComponent(rest.join("/")),
      query: url.search,
    };
    requests.push(seen);
    const range = typeof req.headers.range === "string" ? req.headers.range : undefined;
    const rule = pending && matches(pending.rule, seen, range) ? pending : undefined;
    if (!rule) return forward(req, res, undefined, () => undefined);
    pending = undefined;
    if (rule.rule.method === "PUT") {
      // Read and drop the body (a client may wait for the upload to drain), answer never.
      req.resume();
      holdSocket(res);
      rule.held(seen);
      return;
    }
    forward(req, res, (rule.rule.atOffset ?? 0) - requestedRange(range).first, () => rule.held(seen));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  const release = (): void => {
    pending = undefined;
    for (const s of heldSockets) s.destroy();
    heldSockets.clear();
  };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    hold: (rule) => {
      if (pending) throw new Error("hold: a rule is already waiting");
      return new Promise((held) => {
        pending = { rule, held };
      });
    },
    release,
    close: () =>
      new Promise<void>((resolve) => {
        release();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
