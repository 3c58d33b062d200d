// A direct GET of an object body: one node:http(s) request signed with SigV4, without the
// SDK's middleware stack. Why: the SDK costs ~0.85 ms of CPU per GetObject on this kind of
// machine and a direct request ~0.3 ms, and installing a dataset of small files, or filling
// the cache block by block, is one GET per file or block. Only the plain answers are
// handled here (200/206 with a body, 416 for a range past the end, 5xx/429 as retryable
// errors); any other answer, a connection that never answered, or an endpoint that is not
// plain SigV4 S3 (S3 Express, access point ARNs) makes the caller send the request through
// the SDK, which owns error mapping, region redirects and every special endpoint. A bucket
// the SDK reads where this path could not is left to the SDK from then on.
import type { S3Client } from "@aws-sdk/client-s3";
import { SignatureV4 } from "@smithy/signature-v4";
import { Agent as HttpAgent, request as httpRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import type { GetOptions, ObjectLocation } from "./object-store.js";
import { errorCode, readBody, serviceError, timeoutError } from "./s3-direct-answers.js";
import { encodeKeyPath, NodeSha256 } from "./s3-signing.js";

/**
 * What a direct GET produced: the bytes; "sdk" when the SDK must do this request; "refused"
 * when the server answered something this path does not handle (if the SDK then succeeds,
 * the bucket needs what only the SDK does).
 */
export type DirectResult = Buffer | "sdk" | "refused";

export interface DirectGetOptions {
  /** The custom endpoint URL, if any (as the SDK client was given it). */
  endpoint?: string;
  maxSockets: number;
  connectTimeoutMs: number;
  idleTimeoutMs: number;
}

/** SHA-256 of an empty payload: what the SDK signs for a GET. */
const EMPTY_PAYLOAD_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

interface Target {
  protocol: "http:" | "https:";
  hostname: string;
  port: string;
  /** Path prefix before the key: "/" (virtual-hosted) or "/bucket/" (path-style). */
  prefix: string;
  signer: SignatureV4;
}

export class DirectGetter {
  private readonly targets = new Map<string, Promise<Target | undefined>>();
  /** Buckets whose requests go through the SDK (it succeeded where this path failed). */
  private readonly sdkOnly = new Set<string>();
  private readonly http: HttpAgent;
  private readonly https: HttpsAgent;

  constructor(
    private readonly client: S3Client,
    private readonly opts: DirectGetOptions,
  ) {
    const agent = { keepAlive: true, maxSockets: opts.maxSockets };
    this.http = new HttpAgent(agent);
    this.https = new HttpsAgent(agent);
  }

  async get(loc: ObjectLocation, opts: GetOptions): Promise<DirectResult> {
    if (this.sdkOnly.has(loc.bucket)) return "sdk";
    const target = await this.target(loc.bucket);
    if (!target) return "sdk";
    const query: Record<string, string> = loc.versionId !== undefined ? { versionId: loc.versionId } : {};
    const headers: Record<string, string> = {
      host: target.port ? `${target.hostname}:${target.port}` : target.hostname,
      "x-amz-content-sha256": EMPTY_PAYLOAD_SHA256,
    };
    if (opts.range) headers.range = `bytes=${opts.range.start}-${opts.range.end - 1}`;
    if (loc.versionId === undefined && loc.etag !== undefined) headers["if-match"] = loc.etag;
    const path = target.prefix + encodeKeyPath(loc.key);
    let signed;
    try {
      signed = await target.signer.sign({
        method: "GET",
        protocol: target.protocol,
        hostname: target.hostname,
        port: target.port ? Number(target.port) : undefined,
        path,
        query,
        headers,
      });
    } catch {
      return "sdk"; // no credentials here: let the SDK raise its own, well-explained error
    }
    const search = loc.versionId !== undefined ? `?versionId=${encodeURIComponent(loc.versionId)}` : "";
    return this.send(target, path + search, signed.headers, loc.bucket, opts.signal);
  }

  /**
   * The SDK read a bucket whose answer this path refused: leave that bucket to the SDK. (A
   * connection that failed before any answer, such as a stale keep-alive socket, says
   * nothing about the bucket and does not count.)
   */
  sdkSucceeded(bucket: string): void {
    this.sdkOnly.add(bucket);
  }

  close(): void {
    this.http.destroy();
    this.https.destroy();
  }

  /**
   * Failures before an answer (refused, DNS, a reset keep-alive socket) go to the SDK, which
   * repeats the request and fails the canonical way. A timeout does not: handing it over
   * would wait the whole timeout again on the SDK's side (a silent server cost each attempt
   * twice), so it is thrown as the SDK shapes its own (TimeoutError; "did not establish a
   * connection" for a connect timeout, which the retry loop counts as unreachable). A 5xx or
   * 429 answer is thrown as the SDK would shape it, so the retry loop backs off without
   * doubling requests to a throttling server. A body that breaks off or stalls is a
   * transient error: the retry loop fetches it again.
   */
  private send(
    target: Target,
    path: string,
    headers: Record<string, string>,
    bucket: string,
    signal: AbortSignal | undefined,
  ): Promise<DirectResult> {
    return new Promise<DirectResult>((resolve, reject) => {
      let answered = false;
      /** Set when this side gave up waiting: what the request failed with, whatever the socket says after. */
      let timedOut: Error | undefined;
      const giveUp = (err: Error): void => {
        timedOut = err;
        req.destroy(err);
      };
      const fail = (err: unknown): void => reject(timedOut ?? err);
      const request = target.protocol === "https:" ? httpsRequest : httpRequest;
      const req = request(
        {
          protocol: target.protocol,
          hostname: target.hostname,
          port: target.port || undefined,
          path,
          method: "GET",
          headers,
          agent: target.protocol === "https:" ? this.https : this.http,
          signal,
        },
        (res) => {
          answered = true;
          const status = res.statusCode ?? 0;
          if (status === 200 || status === 206) {
            readBody(res).then(resolve, fail);
          } else if (status === 416) {
            res.resume();
            resolve(Buffer.alloc(0)); // a range past the end reads nothing, like a pread
          } else if (status >= 500 || status === 429) {
            readBody(res).then((body) => reject(serviceError(status, body)), fail);
          } else {
            // Redirects, and the 400 S3 sends when signed for the wrong region: the bucket lives
            // elsewhere, which the SDK follows (followRegionRedirects) and this path does not.
            readBody(res).then(
              (body) => {
                if (status === 301 || status === 307 || errorCode(body) === "AuthorizationHeaderMalformed")
                  this.sdkOnly.add(bucket);
                resolve("refused");
              },
              () => resolve("refused"),
            );
          }
        },
      );
      req.on("socket", (socket) => {
        if (!socket.connecting) return;
        const timer = setTimeout(
          () =>
            giveUp(
              timeoutError(
                `the request socket did not establish a connection with the server within ${this.opts.connectTimeoutMs} ms`,
              ),
            ),
          this.opts.connectTimeoutMs,
        );
        socket.once("connect", () => clearTimeout(timer));
        socket.once("close", () => clearTimeout(timer));
      });
      // The socket's inactivity timer: it runs until the response ends, so a body that stalls half way fails too.
      req.setTimeout(this.opts.idleTimeoutMs, () =>
        giveUp(timeoutError(`no bytes from the server for ${this.opts.idleTimeoutMs} ms`)),
      );
      req.on("error", (err) =>
        answered || timedOut !== undefined || signal?.aborted ? fail(err) : resolve("sdk"),
      );
      req.end();
    });
  }

  private target(bucket: string): Promise<Target | undefined> {
    let t = this.targets.get(bucket);
    if (!t) {
      t = this.resolveTarget(bucket).catch(() => undefined);
      this.targets.set(bucket, t);
    }
    return t;
  }

  /** Where and how the SDK would send a GET for this bucket, if that is plain SigV4 S3. */
  private async resolveTarget(bucket: string): Promise<Target | undefined> {
    if (bucket.startsWith("arn:")) return undefined;
    const cfg = this.client.config;
    const region = await cfg.region();
    const endpoint = cfg.endpointProvider({
      Bucket: bucket,
      Region: region,
      UseFIPS: await cfg.useFipsEndpoint(),
      UseDualStack: await cfg.useDualstackEndpoint(),
      ForcePathStyle: (await setting(cfg.forcePathStyle)) ?? false,
      Accelerate: (await setting(cfg.useAccelerateEndpoint)) ?? false,
      UseGlobalEndpoint: (await setting(cfg.useGlobalEndpoint)) ?? false,
      ...(this.opts.endpoint ? { Endpoint: this.opts.endpoint } : {}),
    });
    const scheme = (
      endpoint.properties?.authSchemes as
        { name?: string; signingRegion?: string; signingName?: string }[] | undefined
    )?.[0];
    const url = endpoint.url;
    if (
      scheme?.name !== "sigv4" ||
      endpoint.properties?.backend !== undefined ||
      (endpoint.headers && Object.keys(endpoint.headers).length > 0)
    )
      return undefined;
    if (url.protocol !== "http:" && url.protocol !== "https:") return undefined;
    if (url.search) return undefined;
    const signer = new SignatureV4({
      credentials: cfg.credentials,
      region: scheme.signingRegion ?? region,
      service: scheme.signingName ?? "s3",
      sha256: NodeSha256,
      uriEscapePath: false, // S3 signs the path exactly as sent
      applyChecksum: false,
    });
    const prefix = url.pathname.endsWith("/") ? url.pathname : `${url.pathname}/`;
    return { protocol: url.protocol, hostname: url.hostname, port: url.port, prefix, signer };
  }
}

/** A client setting that may be a value or a provider of one. */
async function setting<T>(v: T | (() => Promise<T>) | undefined): Promise<T | undefined> {
  return typeof v === "function" ? (v as () => Promise<T>)() : v;
}
