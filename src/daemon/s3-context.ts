// The S3 connection context of a mount (endpoint, region, credentials profile), resolved
// in the shell that runs `quilt mount` and sent with the request. One daemon serves shells
// with different settings, so it must never use those of the shell that happened to start
// it. Secrets never travel: a profile's credentials are read by the daemon from the same
// ~/.aws files, and of environment credentials only a fingerprint of the key id is sent, so
// the daemon can refuse to stand in with different ones.
import { createHash } from "node:crypto";
import { QuiltError } from "../errors.js";
import { configuredEndpoint } from "../storage/s3-endpoint.js";
import type { S3StoreOptions } from "../storage/s3-store.js";

export interface S3Context {
  /** A custom endpoint (MinIO, moto...); absent: AWS. */
  endpoint?: string;
  /** Absent: the profile's region, else us-east-1. */
  region?: string;
  /** Absent: no profile named (environment credentials, else the default chain). */
  profile?: string;
}

/**
 * Variables of the shell that started the daemon which would otherwise steer the SDK inside
 * the daemon (it reads process.env itself for the region, the profile and the endpoint).
 * Credentials stay: they are the daemon's own chain, checked against the caller's.
 */
const SHELL_CONTEXT_VARIABLES = [
  "AWS_ENDPOINT_URL",
  "AWS_ENDPOINT_URL_S3",
  "AWS_REGION",
  "AWS_DEFAULT_REGION",
  "AWS_PROFILE",
  "QUILT_REGISTRY",
];

/** What the caller's environment says: the same variables the library honours in this shell. */
export function s3ContextFromEnv(env: NodeJS.ProcessEnv): S3Context {
  const endpoint = configuredEndpoint({}, env)?.url;
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION;
  const profile = env.AWS_PROFILE;
  return { ...(endpoint && { endpoint }), ...(region && { region }), ...(profile && { profile }) };
}

/** Validates the `s3` parameter of a request; absent means no endpoint, region or profile named. */
export function parseS3Context(value: unknown): S3Context {
  if (value === undefined) return {};
  const bad = () =>
    new QuiltError(
      "EUSAGE",
      `Invalid "s3" parameter ${JSON.stringify(value)}: expected { endpoint?, region?, profile? } of strings`,
    );
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw bad();
  const out: S3Context = {};
  for (const [k, v] of Object.entries(value)) {
    if (k !== "endpoint" && k !== "region" && k !== "profile") throw bad();
    if (v === undefined || v === null || v === "") continue;
    if (typeof v !== "string") throw bad();
    out[k] = v;
  }
  return out;
}

/** One connection pool per distinct context. */
export function s3ContextKey(c: S3Context): string {
  return JSON.stringify([c.endpoint ?? null, c.region ?? null, c.profile ?? null]);
}

/** Store options that use exactly this context, whatever the daemon's own environment says. */
export function s3StoreOptions(c: S3Context): S3StoreOptions {
  return {
    ...c,
    configuredEndpoints: false,
    ...(c.endpoint !== undefined && {
      endpointSource: "AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL of the shell that ran `quilt mount`",
    }),
  };
}

/**
 * A short digest of AWS_ACCESS_KEY_ID (not the key id itself, and never the secret), or
 * undefined when the environment holds no credentials.
 */
export function credentialsFingerprint(env: NodeJS.ProcessEnv): string | undefined {
  const id = env.AWS_ACCESS_KEY_ID;
  return id ? createHash("sha256").update(`quilt-aws-key-id:${id}`).digest("hex").slice(0, 16) : undefined;
}

/**
 * Refuses a mount whose S3 requests the daemon would sign with other credentials than the
 * caller's: with no profile named, both use environment credentials (or, without any, the
 * default chain), so the two environments must hold the same key. A named profile is read
 * from the ~/.aws files by the daemon too.
 */
export function checkCredentials(c: S3Context, caller: string | undefined, daemon: string | undefined): void {
  if (c.profile !== undefined || caller === daemon) return;
  const which =
    caller === undefined
      ? "this shell has no AWS_ACCESS_KEY_ID, but the daemon's environment has one"
      : daemon === undefined
        ? "this shell's AWS_ACCESS_KEY_ID is not in the daemon's environment"
        : "this shell's AWS_ACCESS_KEY_ID differs from the one in the daemon's environment";
  throw new QuiltError(
    "EUSAGE",
    `The quilt daemon cannot use this shell's AWS credentials: ${which} (it was started from another shell)`,
    {
      hint: "name a profile from ~/.aws (AWS_PROFILE=name) so the daemon reads the same credentials, or restart the daemon from this shell: `quilt daemon stop` (it unmounts every mount), then mount again",
    },
  );
}

/** Drops the starting shell's settings from this (daemon) process, see SHELL_CONTEXT_VARIABLES. */
export function forgetShellContext(env: NodeJS.ProcessEnv = process.env): void {
  for (const name of SHELL_CONTEXT_VARIABLES) delete env[name];
}
