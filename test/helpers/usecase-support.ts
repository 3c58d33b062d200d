// Shared pieces of the USECASES.md integration tests: a library context on the run's moto
// server, workspaces written from a file map, a cwd switch (the use cases print paths like
// "./train2017/"), S3 object versions as evidence of what was uploaded, a counting proxy
// in front of moto as evidence of what was fetched, and the real quilt3 reading packages.
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, request, type IncomingMessage, type Server } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { ListObjectVersionsCommand } from "@aws-sdk/client-s3";
import { Session } from "../../src/index.js";
import { motoClient } from "./moto-server.js";
import { runQuilt3Json } from "./quilt3.js";
import { s3TestEnv } from "./s3.js";

export type UsecaseEnv = ReturnType<typeof s3TestEnv> & { registry: string };

export function usecaseEnv(): UsecaseEnv {
  const env = s3TestEnv();
  return { ...env, registry: `s3://${env.bucket}` };
}

const cleanups: (() => Promise<void> | void)[] = [];

/** Runs what tests registered (contexts to close, proxies to stop, dirs to remove); call from afterAll. */
export async function cleanupAll(): Promise<void> {
  for (const fn of cleanups.splice(0).reverse()) await fn();
}

export function tempRoot(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `quilt-uc-${label}-`));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A library context of its own (caches under a fresh directory), talking to `endpoint`. */
export function newContext(endpoint: string): Session {
  const ctx = new Session({
    cacheDir: join(tempRoot("cache"), "cache"),
    s3: { endpoint, forcePathStyle: true },
  });
  cleanups.push(() => ctx.close());
  return ctx;
}

/** Writes `files` (path relative to `dir` -> contents) and returns `dir`. */
export function writeTree(dir: string, files: Record<string, string | Buffer>): string {
  for (const [rel, body] of Object.entries(files)) {
    const path = join(dir, ...rel.split("/"));
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, body);
  }
  return dir;
}

/** Runs `fn` with the process in `dir` (test files run in their own forked process). */
export async function withCwd<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const before = process.cwd();
  process.chdir(dir);
  try {
    return await fn();
  } finally {
    process.chdir(before);
  }
}

export function sha256Hex(bytes: Buffer | string): string {
  return createHash("sha256").update(bytes).digest("hex");
}

export { motoClient } from "./moto-server.js";

/** Every key under `prefix` with its number of versions (a re-upload adds one). */
export async function objectVersions(env: UsecaseEnv, prefix: string): Promise<Map<string, number>> {
  const client = motoClient(env);
  const out = new Map<string, number>();
  try {
    let keyMarker: string | undefined;
    let versionMarker: string | undefined;
    for (;;) {
      const res = await client.send(
        new ListObjectVersionsCommand({
          Bucket: env.bucket,
          Prefix: prefix,
          KeyMarker: keyMarker,
          VersionIdMarker: versionMarker,
        }),
      );
      for (const v of res.Versions ?? []) if (v.Key !== undefined) out.set(v.Key, (out.get(v.Key) ?? 0) + 1);
      if (!res.IsTruncated) break;
      keyMarker = res.NextKeyMarker;
      versionMarker = res.NextVersionIdMarker;
    }
  } finally {
    client.destroy();
  }
  return out;
}

export interface ProxiedRequest {
  method: string;
  bucket: string;
  key: string;
  query: string;
  status: number;
  /** The Range header asked for, if any. */
  range: string | undefined;
  /** Body bytes sent back to the client. */
  bytesOut: number;
  /** The proxy broke this response off on purpose (cutNextGet). */
  cut?: boolean;
}

export interface CountingProxy {
  endpoint: string;
  requests: ProxiedRequest[];
  /** GETs of object bodies under `prefix` (not listings, not HEADs), with their byte counts. */
  gets(prefix: string): ProxiedRequest[];
  /** Breaks off the next object GET under `prefix` after `afterBytes` body bytes, like a dropped connection. */
  cutNextGet(prefix: string, afterBytes: number): void;
  reset(): void;
}

/**
 * An HTTP proxy in front of moto that records every request and the bytes of every
 * response body: independent evidence of what the library fetched from S3.
 */
export async function startCountingProxy(target: string): Promise<CountingProxy> {
  const upstream = new URL(target);
  const requests: ProxiedRequest[] = [];
  let cut: { prefix: string; afterBytes: number } | undefined;
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://proxy");
    const [, bucket = "", ...rest] = url.pathname.split("/");
    const record: ProxiedRequest = {
      method: req.method ?? "",
      bucket: decodeURIComponent(bucket),
      key: decodeURIComponent(rest.join("/")),
      query: url.search,
      status: 0,
      range: typeof req.headers.range === "string" ? req.headers.range : undefined,
      bytesOut: 0,
    };
    const cutAt =
      cut && record.method === "GET" && record.key.startsWith(cut.prefix) ? cut.afterBytes : undefined;
    if (cutAt !== undefined) cut = undefined;
    const headers = { ...req.headers };
    delete headers.expect;
    const up = request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers },
      (upRes: IncomingMessage) => {
        record.status = upRes.statusCode ?? 0;
        res.writeHead(record.status, upRes.headers);
        upRes.on("data", (chunk: Buffer) => {
          record.bytesOut += chunk.length;
          if (cutAt !== undefined && record.bytesOut >= cutAt && !record.cut) {
            record.cut = true;
            requests.push(record);
            upRes.unpipe(res);
            upRes.destroy();
            res.destroy();
          }
        });
        upRes.pipe(res);
        upRes.on("end", () => requests.push(record));
      },
    );
    up.on("error", (err) => {
      res.destroy(err);
    });
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    gets: (prefix) =>
      requests.filter(
        (r) =>
          r.method === "GET" &&
          r.key.startsWith(prefix) &&
          r.key !== "" &&
          !/[?&](list-type|versions|uploads)/.test(r.query),
      ),
    cutNextGet: (prefix, afterBytes) => {
      cut = { prefix, afterBytes };
    },
    reset: () => {
      requests.length = 0;
    },
  };
}

export interface Quilt3Seen {
  top_hash: string;
  meta: unknown;
  entries: Record<string, { physical_key: string; size: number; meta: unknown; sha256: string }>;
}

/**
 * What the real quilt3 sees of packages in the registry: the top hash it computes, each
 * entry's physical key, size, user metadata and the SHA-256 of the bytes it reads. One
 * Python process for the batch. `hash` omitted means quilt3 resolves `latest` itself.
 */
export async function quilt3Read(
  env: UsecaseEnv,
  packages: { name: string; hash?: string }[],
): Promise<Quilt3Seen[]> {
  return runQuilt3Json<Quilt3Seen[]>(
    `import contextlib, hashlib
from quilt3 import Package
out = []
with contextlib.redirect_stdout(sys.stderr):
    for item in ARGS["packages"]:
        p = Package.browse(item["name"], registry=ARGS["registry"], top_hash=item.get("hash"))
        ents = {}
        for lk, e in p.walk():
            ents[lk] = {"physical_key": str(e.physical_key), "size": e.size, "meta": e.meta, "sha256": hashlib.sha256(e.get_bytes()).hexdigest()}
        out.append({"top_hash": p.top_hash, "meta": p.meta, "entries": ents})
print(json.dumps(out))`,
    { packages, registry: env.registry },
    { env: env.env },
  );
}

export interface Display {
  kind: string;
  fields: Record<string, string>;
  contents: [string, string][];
}

/**
 * Reads back the display of a Package or PackageBuilder, as the use cases print it:
 *   Kind(\n  field: "value",\n  contents: [\n    "logical" -> "source"\n  ]\n)
 * Throws on any line it does not recognise, so a changed format fails the test.
 */
export function parseDisplay(text: string): Display {
  const lines = text.split("\n");
  const head = /^(\w+)\($/.exec(lines[0] ?? "");
  if (!head || lines.at(-1) !== ")") throw new Error(`not a display:\n${text}`);
  const fields: Record<string, string> = {};
  const contents: [string, string][] = [];
  let inContents = false;
  for (const line of lines.slice(1, -1)) {
    const q = '("(?:[^"\\\\]|\\\\.)*")';
    if (inContents) {
      if (/^\s*\],?$/.test(line)) {
        inContents = false;
        continue;
      }
      const m = new RegExp(`^\\s+${q}\\s*->\\s*${q},?$`).exec(line);
      if (!m) throw new Error(`unrecognised contents line ${JSON.stringify(line)} in:\n${text}`);
      contents.push([JSON.parse(m[1] as string) as string, JSON.parse(m[2] as string) as string]);
      continue;
    }
    if (/^\s+contents: \[$/.test(line)) {
      inContents = true;
      continue;
    }
    const f = new RegExp(`^\\s+(\\w+): ${q},?$`).exec(line);
    if (!f) throw new Error(`unrecognised line ${JSON.stringify(line)} in:\n${text}`);
    fields[f[1] as string] = JSON.parse(f[2] as string) as string;
  }
  return { kind: head[1] as string, fields, contents };
}

/** The error a promise rejects with (fails when it resolves). */
export async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a rejection, but the promise resolved");
}

/** Escapes text for use inside a RegExp. */
export function re(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
