// Builds the one S3Client a store uses: the SDK's default credential chain and profiles,
// region and endpoint resolved the way users expect from the AWS CLI (plus a us-east-1
// fallback), path-style addressing for custom endpoints (MinIO, moto, s3rver...), and a
// keep-alive HTTP agent sized for parallel ranged reads, and a connect and an idle timeout
// on every request (config.ts: QUILT_S3_CONNECT_TIMEOUT, QUILT_S3_IDLE_TIMEOUT). The SDK's
// own retries are off: s3-store.ts wraps every call in retry.ts, so attempts never multiply.
import { S3Client } from "@aws-sdk/client-s3";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { DEFAULT_S3_CONNECT_TIMEOUT_MS, DEFAULT_S3_IDLE_TIMEOUT_MS } from "../config.js";
import type { EndpointInfo } from "./retry.js";
import { DirectGetter } from "./s3-direct-get.js";
import { configuredEndpoint } from "./s3-endpoint.js";

export interface S3ClientOptions {
  /** e.g. "http://127.0.0.1:9000"; else AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL, else AWS. */
  endpoint?: string;
  /** Else AWS_REGION, AWS_DEFAULT_REGION, the profile's region, else us-east-1. */
  region?: string;
  /** A profile of ~/.aws/config and ~/.aws/credentials; else AWS_PROFILE, else "default". */
  profile?: string;
  /** Path-style URLs (http://host/bucket/key); default true when a custom endpoint is set. */
  forcePathStyle?: boolean;
  /** Concurrent connections to the endpoint (default 64). */
  maxSockets?: number;
  /** Give up connecting after this long (default 5000 ms; QUILT_S3_CONNECT_TIMEOUT through the Session). */
  connectTimeoutMs?: number;
  /**
   * Fail a request whose socket stays silent this long, before or during the body, so it is
   * retried on a fresh connection (default 15000 ms; QUILT_S3_IDLE_TIMEOUT through the Session).
   */
  idleTimeoutMs?: number;
  /**
   * Send plain object GETs directly (s3-direct-get.ts) rather than through the SDK's stack
   * (default true; QUILT_S3_DIRECT_GET=0 turns it off, to rule it out when debugging).
   */
  directGets?: boolean;
  /**
   * False: the endpoint is `endpoint` or AWS, nothing else; AWS_ENDPOINT_URL(_S3) and
   * endpoint_url in AWS config files are ignored. The daemon sets it: the shell that ran
   * `quilt mount` resolved the endpoint, and the daemon's own settings must not replace it.
   */
  configuredEndpoints?: boolean;
  /** Where `endpoint` came from, for hints when it cannot be reached (default "the endpoint option"). */
  endpointSource?: string;
}

export interface ResolvedS3Client {
  client: S3Client;
  /** The cheap path for object GETs; absent when turned off. */
  direct?: DirectGetter;
  /** For messages and EUNREACHABLE hints. */
  endpoint(): Promise<EndpointInfo>;
}

/**
 * 64 sockets: enough for a block cache fetching many 1-8 MiB ranges in parallel from one
 * endpoint (S3 serves ~100 MB/s per connection), far below file-descriptor limits.
 */
const DEFAULT_MAX_SOCKETS = 64;
/** What boto3, the AWS CLI and quilt3 fall back to when no region is configured. */
const FALLBACK_REGION = "us-east-1";

/** Region from options, env, then the profile (via the SDK's own config-file loader), then us-east-1. */
export async function resolveRegion(opts: { region?: string; profile?: string }): Promise<string> {
  if (opts.region) return opts.region;
  const fromEnv = process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION;
  if (fromEnv) return fromEnv;
  const probe = new S3Client(opts.profile ? { profile: opts.profile } : {});
  try {
    return await probe.config.region();
  } catch {
    return FALLBACK_REGION; // "Region is missing": nothing configured anywhere
  } finally {
    probe.destroy();
  }
}

export function buildS3Client(opts: S3ClientOptions = {}): ResolvedS3Client {
  const custom = configuredEndpoint(opts);
  let regionPromise: Promise<string> | undefined;
  const region = (): Promise<string> => (regionPromise ??= resolveRegion(opts));
  const agentOptions = { keepAlive: true, maxSockets: opts.maxSockets ?? DEFAULT_MAX_SOCKETS };
  const connectTimeoutMs = opts.connectTimeoutMs ?? DEFAULT_S3_CONNECT_TIMEOUT_MS;
  const idleTimeoutMs = opts.idleTimeoutMs ?? DEFAULT_S3_IDLE_TIMEOUT_MS;
  const client = new S3Client({
    region,
    ...(opts.profile ? { profile: opts.profile } : {}),
    ...(custom ? { endpoint: custom.url } : {}),
    forcePathStyle: opts.forcePathStyle ?? custom !== undefined,
    // Without it the SDK would read AWS_ENDPOINT_URL and ~/.aws/config on its own.
    ...(opts.configuredEndpoints === false && { ignoreConfiguredEndpointUrls: true }),
    // Buckets live in many regions; follow S3's 301/400 redirects instead of failing.
    followRegionRedirects: true,
    maxAttempts: 1,
    // Checksums are requested explicitly (SHA256, as quilt3 does) where we want them; whole
    // downloads are verified against the manifest hash above this layer, so the SDK does
    // not hash every GET body a second time.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    requestHandler: new NodeHttpHandler({
      httpAgent: agentOptions,
      httpsAgent: agentOptions,
      connectionTimeout: connectTimeoutMs,
      // Idle, not total: the socket's inactivity timer runs through the response body too, so
      // a body that stalls half way fails this attempt (a TimeoutError, retried) instead of
      // hanging. Total time per attempt is not capped: a large body may take long, but only
      // while bytes keep arriving.
      socketTimeout: idleTimeoutMs,
    }),
  });
  const directOff = opts.directGets === false || process.env.QUILT_S3_DIRECT_GET === "0";
  const direct = directOff
    ? undefined
    : new DirectGetter(client, {
        ...(custom ? { endpoint: custom.url } : {}),
        maxSockets: agentOptions.maxSockets,
        connectTimeoutMs,
        idleTimeoutMs,
      });
  const endpoint = async (): Promise<EndpointInfo> => {
    if (custom) {
      return {
        url: custom.url,
        hint:
          `Is the S3 server at ${custom.url} running? The endpoint comes from ${custom.source}; ` +
          `check AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL (unset them to use AWS).`,
      };
    }
    const r = await region().catch(() => FALLBACK_REGION);
    return {
      url: `https://s3.${r}.amazonaws.com`,
      hint:
        "Check the network connection and proxy settings (HTTPS_PROXY), and AWS_REGION; " +
        "for a local S3 server set AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL.",
    };
  };
  return { client, endpoint, ...(direct ? { direct } : {}) };
}
