// An HTTP proxy in front of moto (or s3rver) that records every request and injects the S3
// faults integrity and fault tests need, without touching the server's data:
//   failGets     GETs answer 500 InternalError, so bounded retries run out (EIO in a mount)
//   failWith     requests of chosen methods answer an error (503 SlowDown storms), N times
//   delayGets    GETs wait before going upstream (latency spikes, or to catch a reader in
//                the middle of a read), until cleared or N times
//   corrupt      a byte at an OBJECT offset is flipped in every body that holds it, whatever
//                the Range (Content-Length, ETag and checksum headers stay as they were)
//   truncate     bodies stop after N bytes and the connection closes, like a dropped link
//   stall        bodies stop after N bytes and the connection stays open, silent
//   reset        bodies stop after N bytes and the connection is reset (RST)
//   resetUploads PUTs (objects and parts) are reset after the proxy received N body bytes
//   beforeGet    a test hook runs before the n-th GET is forwarded, e.g. to overwrite or
//                delete the object between two ranged reads
//   fakeObjectParts  GetObjectAttributes is answered here with chosen parts (moto's answer
//                fails in the JS SDK), or with an error
// Each fault applies to keys containing a given string and lasts until clearFaults() (or
// `times` matching requests). The record is independent evidence of what a client fetched.
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import {
  checkBytes,
  take,
  takeOne,
  type AppliedFault,
  type Corruption,
  type Cut,
  type Delay,
  type Failure,
  type UploadReset,
} from "./fault-proxy-faults.js";
import {
  attributesXml,
  bodyStartOffset,
  corruptChunk,
  errorXml,
  isAttributesGet,
  isObjectBodyGet,
  type FakeAttributesOptions,
  type FakePart,
} from "./fault-proxy-s3.js";

export type { FakePart } from "./fault-proxy-s3.js";

export interface SeenRequest {
  method: string;
  bucket: string;
  key: string;
  query: string;
  range: string | undefined;
  status: number;
  /** Body bytes sent to the client (after any fault). */
  bodyBytes?: number;
  /** The faults applied to this request, in order. */
  faults?: AppliedFault[];
}

export type GetHook = (req: SeenRequest, n: number) => Promise<void> | void;

export interface FaultProxy {
  endpoint: string;
  requests: SeenRequest[];
  /** Object-body GETs (not listings or other subresources) of keys containing `part`. */
  gets(part: string): SeenRequest[];
  /** GETs of keys containing `part` answer 500 until clearFaults(). */
  failGets(part: string): void;
  /**
   * Requests of keys containing `part` with one of `methods` (default GET) answer `status`
   * with error `code`, `times` times (default until cleared).
   */
  failWith(part: string, opts: { status: number; code: string; methods?: string[]; times?: number }): void;
  /** GETs of keys containing `part` wait `ms` before going upstream, until clearFaults() or `times` GETs. */
  delayGets(part: string, ms: number, opts?: { times?: number }): void;
  /** Bodies of GETs of keys containing `part` have the byte at object offset `offset` XORed with `xor` (default 0xff). */
  corrupt(part: string, opts: { offset: number; xor?: number; times?: number }): void;
  /** Bodies of GETs of keys containing `part` end after `afterBytes` bytes and the connection closes. */
  truncate(part: string, opts: { afterBytes: number; times?: number }): void;
  /** Bodies of GETs of keys containing `part` stop after `afterBytes` bytes; the connection stays open and silent. */
  stall(part: string, opts: { afterBytes: number; times?: number }): void;
  /** Bodies of GETs of keys containing `part` stop after `afterBytes` bytes and the connection is reset. */
  reset(part: string, opts: { afterBytes: number; times?: number }): void;
  /** PUTs of keys containing `part` are reset once `afterBytes` bytes of their body arrived (or at its end). */
  resetUploads(part: string, opts: { afterBytes: number; times?: number }): void;
  /** `hook(req, n)` runs before the n-th (0-based) object GET of a key containing `part` is forwarded. */
  beforeGet(part: string, hook: GetHook): void;
  /** GetObjectAttributes of keys containing `part` is answered with `parts`, or with a 501 NotImplemented for "error". */
  fakeObjectParts(part: string, parts: FakePart[] | "error", opts?: FakeAttributesOptions): void;
  /** Errors thrown by beforeGet hooks (each made its request answer 500). */
  hookErrors: unknown[];
  clearFaults(): void;
  close(): Promise<void>;
}

const NOT_IMPLEMENTED = errorXml("NotImplemented", "GetObjectAttributes refused by the test proxy");

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  const requests: SeenRequest[] = [];
  const hookErrors: unknown[] = [];
  const failures: Failure[] = [];
  const delays: Delay[] = [];
  const corruptions: Corruption[] = [];
  const cuts: Cut[] = [];
  const uploadResets: UploadReset[] = [];
  const hooks: { part: string; hook: GetHook; seen: number }[] = [];
  const fakes = new Map<string, { parts: FakePart[] | "error"; opts: FakeAttributesOptions }>();
  const applied = (seen: SeenRequest, fault: AppliedFault): void => {
    (seen.faults ??= []).push(fault);
  };
  const reply = (
    res: ServerResponse,
    seen: SeenRequest,
    status: number,
    body: string,
    headers: Record<string, string> = {},
  ): void => {
    seen.status = status;
    seen.bodyBytes = Buffer.byteLength(body);
    res.writeHead(status, {
      "content-type": "application/xml",
      "content-length": seen.bodyBytes,
      ...headers,
    });
    res.end(body);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, seen: SeenRequest): Promise<void> => {
    const bodyGet = isObjectBodyGet(seen.method, seen.key, seen.query);
    if (bodyGet) {
      // Numbers are taken on arrival, so concurrent GETs still get distinct, ordered n.
      const due = hooks.filter((h) => seen.key.includes(h.part)).map((h) => ({ h, n: h.seen++ }));
      for (const { h, n } of due) {
        applied(seen, "hook");
        try {
          await h.hook(seen, n);
        } catch (err) {
          hookErrors.push(err);
          req.resume();
          reply(res, seen, 500, errorXml("InternalError", "injected by the test proxy"));
          return;
        }
      }
    }
    const failure =
      seen.key !== "" ? takeOne(failures, seen.key, (f) => f.methods.includes(seen.method)) : undefined;
    if (failure) {
      applied(seen, "fail");
      req.resume();
      reply(res, seen, failure.status, errorXml(failure.code, "injected by the test proxy"));
      return;
    }
    const upCut = seen.method === "PUT" && seen.key !== "" ? takeOne(uploadResets, seen.key) : undefined;
    if (upCut) {
      applied(seen, "reset-upload");
      let received = 0;
      const resetNow = (): void => void req.socket.resetAndDestroy();
      req.on("data", (c: Buffer) => {
        received += c.length;
        seen.bodyBytes = received;
        if (received >= upCut.afterBytes) resetNow();
      });
      req.on("end", resetNow);
      return;
    }
    const fake = isAttributesGet(seen.method, seen.key, seen.query)
      ? [...fakes].find(([p]) => seen.key.includes(p))?.[1]
      : undefined;
    if (fake) {
      applied(seen, "fake-attributes");
      req.resume();
      if (fake.parts === "error") {
        reply(res, seen, 501, NOT_IMPLEMENTED);
        return;
      }
      const versionId = new URLSearchParams(seen.query).get("versionId");
      reply(res, seen, 200, attributesXml(fake.parts, req.headers, fake.opts), {
        "last-modified": new Date().toUTCString(),
        ...(versionId !== null && { "x-amz-version-id": versionId }),
      });
      return;
    }
    const delay = seen.method === "GET" ? Math.max(0, ...take(delays, seen.key).map((d) => d.ms)) : 0;
    if (delay > 0) {
      applied(seen, "delay");
      await new Promise((r) => setTimeout(r, delay));
    }
    forward(req, res, seen, bodyGet);
  };

  const forward = (req: IncomingMessage, res: ServerResponse, seen: SeenRequest, bodyGet: boolean): void => {
    const headers = { ...req.headers };
    delete headers.expect;
    const up = request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers },
      (upRes: IncomingMessage) => {
        seen.status = upRes.statusCode ?? 0;
        res.writeHead(seen.status, upRes.headers);
        const ok = bodyGet && (seen.status === 200 || seen.status === 206);
        const flips = ok ? take(corruptions, seen.key) : [];
        const cut = ok ? takeOne(cuts, seen.key) : undefined;
        if (flips.length > 0) applied(seen, "corrupt");
        if (cut) applied(seen, cut.mode);
        let position = bodyStartOffset(seen.status, upRes.headers["content-range"]);
        let sent = 0;
        let cutDone = false;
        // A client that goes away stops the upstream read too.
        res.on("close", () => upRes.destroy());
        const stop = (): void => {
          upRes.destroy();
          if (cut?.mode === "stall") return; // silent until the client gives up (res "close")
          if (cut?.mode === "reset" && res.socket) res.socket.resetAndDestroy();
          // end(), not destroy(): what was written still reaches the client before the FIN.
          else if (res.socket) res.socket.end();
          else res.destroy();
        };
        if (cut && cut.afterBytes === 0) {
          res.write(Buffer.alloc(0), stop);
          return;
        }
        upRes.on("data", (chunk: Buffer) => {
          if (cutDone) return;
          let out = corruptChunk(chunk, position, flips);
          position += chunk.length;
          if (cut && sent + out.length >= cut.afterBytes) {
            cutDone = true;
            out = out.subarray(0, cut.afterBytes - sent);
            sent += out.length;
            seen.bodyBytes = sent;
            upRes.pause();
            res.write(out, stop);
            return;
          }
          sent += out.length;
          seen.bodyBytes = sent;
          if (!res.write(out)) {
            upRes.pause();
            res.once("drain", () => upRes.resume());
          }
        });
        upRes.on("end", () => res.end());
        upRes.on("error", (err) => res.destroy(err));
      },
    );
    up.on("error", (err) => res.destroy(err));
    req.pipe(up);
  };

  const cut = (part: string, opts: { afterBytes: number; times?: number }, mode: Cut["mode"]): void => {
    checkBytes(mode, opts.afterBytes);
    cuts.push({ part, afterBytes: opts.afterBytes, mode, left: opts.times ?? Infinity });
  };

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
    handle(req, res, seen).catch((err: unknown) =>
      res.destroy(err instanceof Error ? err : new Error(String(err))),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    hookErrors,
    gets: (part) => requests.filter((r) => r.key.includes(part) && isObjectBodyGet(r.method, r.key, r.query)),
    failGets: (part) =>
      failures.push({ part, status: 500, code: "InternalError", methods: ["GET"], left: Infinity }),
    failWith: (part, opts) =>
      failures.push({
        part,
        status: opts.status,
        code: opts.code,
        methods: opts.methods ?? ["GET"],
        left: opts.times ?? Infinity,
      }),
    delayGets: (part, ms, opts = {}) => delays.push({ part, ms, left: opts.times ?? Infinity }),
    corrupt: (part, opts) => {
      if (!Number.isSafeInteger(opts.offset) || opts.offset < 0)
        throw new Error(`corrupt: bad offset ${opts.offset}`);
      const xor = opts.xor ?? 0xff;
      if (!Number.isInteger(xor) || xor < 1 || xor > 0xff)
        throw new Error(`corrupt: xor must be 1..255, got ${xor}`);
      corruptions.push({ part, offset: opts.offset, xor, left: opts.times ?? Infinity });
    },
    truncate: (part, opts) => cut(part, opts, "truncate"),
    stall: (part, opts) => cut(part, opts, "stall"),
    reset: (part, opts) => cut(part, opts, "reset"),
    resetUploads: (part, opts) => {
      checkBytes("resetUploads", opts.afterBytes);
      uploadResets.push({ part, afterBytes: opts.afterBytes, left: opts.times ?? Infinity });
    },
    beforeGet: (part, hook) => hooks.push({ part, hook, seen: 0 }),
    fakeObjectParts: (part, parts, opts = {}) => fakes.set(part, { parts, opts }),
    clearFaults: () => {
      failures.length = 0;
      delays.length = 0;
      corruptions.length = 0;
      cuts.length = 0;
      uploadResets.length = 0;
      hooks.length = 0;
      fakes.clear();
      hookErrors.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
