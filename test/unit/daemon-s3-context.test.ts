// The S3 context of a mount, without a daemon: what the CLI reads from the caller's
// environment, what the daemon accepts in a mount request, when it refuses credentials,
// and that a store built for a context with no endpoint goes to AWS even when the process
// environment names another endpoint (the daemon's starting shell must not leak in).
import { afterEach, describe, expect, it } from "vitest";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { parseMountRequest as parseChecked } from "../../src/daemon/mount-request.js";
import { checkParams } from "../../src/daemon/ops.js";
import {
  checkCredentials,
  credentialsFingerprint,
  forgetShellContext,
  parseS3Context,
  s3ContextFromEnv,
  s3ContextKey,
} from "../../src/daemon/s3-context.js";
import { buildS3Client } from "../../src/storage/s3-client.js";

const SAVED = { ...process.env };

afterEach(() => {
  for (const k of Object.keys(process.env)) if (!(k in SAVED)) delete process.env[k];
  Object.assign(process.env, SAVED);
});

/** The host the SDK would send a ListObjectsV2 to (the request is stopped before it leaves). */
async function requestHost(client: ReturnType<typeof buildS3Client>["client"]): Promise<string> {
  client.middlewareStack.add(
    () => async (args) => {
      const req = args.request as { hostname: string; port?: number };
      throw new Error(`host:${req.hostname}${req.port ? `:${req.port}` : ""}`);
    },
    { step: "build", name: "stopBeforeSending" },
  );
  try {
    await client.send(new ListObjectsV2Command({ Bucket: "some-bucket" }));
    return "sent";
  } catch (err) {
    return (err as Error).message;
  } finally {
    client.destroy();
  }
}

describe("S3 context", () => {
  it("is read from the caller's environment like the library reads it", () => {
    expect(s3ContextFromEnv({})).toEqual({});
    expect(
      s3ContextFromEnv({ AWS_ENDPOINT_URL: "http://a", AWS_DEFAULT_REGION: "eu-west-1", AWS_PROFILE: "p" }),
    ).toEqual({ endpoint: "http://a", region: "eu-west-1", profile: "p" });
    expect(
      s3ContextFromEnv({
        AWS_ENDPOINT_URL: "http://a",
        AWS_ENDPOINT_URL_S3: "http://s3",
        AWS_REGION: "us-west-2",
        AWS_DEFAULT_REGION: "eu-west-1",
      }),
    ).toEqual({ endpoint: "http://s3", region: "us-west-2" });
    expect(
      s3ContextFromEnv({ AWS_ENDPOINT_URL: "http://a", AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: "true" }),
    ).toEqual({});
  });

  it("is validated in a request, and keys one connection pool per distinct context", () => {
    expect(parseS3Context(undefined)).toEqual({});
    expect(parseS3Context({ endpoint: "http://x", region: "", profile: null })).toEqual({
      endpoint: "http://x",
    });
    for (const bad of [null, "http://x", [1], { endpoint: 1 }, { secret: "s" }])
      expect(() => parseS3Context(bad)).toThrow(/Invalid "s3" parameter/);
    expect(s3ContextKey({ endpoint: "http://x" })).not.toBe(s3ContextKey({ region: "http://x" }));
    expect(s3ContextKey({ profile: "a", endpoint: "e" })).toBe(s3ContextKey({ endpoint: "e", profile: "a" }));
  });

  it("refuses environment credentials the daemon does not share, unless a profile is named", () => {
    const mine = credentialsFingerprint({ AWS_ACCESS_KEY_ID: "AKIAMINE" });
    const theirs = credentialsFingerprint({ AWS_ACCESS_KEY_ID: "AKIATHEIRS" });
    expect(mine).toMatch(/^[0-9a-f]{16}$/);
    expect(mine).not.toContain("AKIA");
    expect(credentialsFingerprint({})).toBeUndefined();
    expect(() => checkCredentials({}, mine, mine)).not.toThrow();
    expect(() => checkCredentials({}, undefined, undefined)).not.toThrow();
    expect(() => checkCredentials({ profile: "p" }, mine, theirs)).not.toThrow();
    expect(() => checkCredentials({}, mine, theirs)).toThrow(
      /differs from the one in the daemon's environment/,
    );
    expect(() => checkCredentials({}, mine, undefined)).toThrow(/not in the daemon's environment/);
    expect(() => checkCredentials({}, undefined, theirs)).toThrow(/this shell has no AWS_ACCESS_KEY_ID/);
  });

  it("drops the starting shell's endpoint, region, profile and registry from the daemon process, not its credentials", () => {
    const env: NodeJS.ProcessEnv = {
      AWS_ENDPOINT_URL: "e",
      AWS_ENDPOINT_URL_S3: "e",
      AWS_REGION: "r",
      AWS_DEFAULT_REGION: "r",
      AWS_PROFILE: "p",
      QUILT_REGISTRY: "q",
      AWS_ACCESS_KEY_ID: "k",
      HOME: "/h",
    };
    forgetShellContext(env);
    expect(env).toEqual({ AWS_ACCESS_KEY_ID: "k", HOME: "/h" });
  });

  it("builds a client that ignores AWS_ENDPOINT_URL when the caller named no endpoint", async () => {
    Object.assign(process.env, {
      AWS_ENDPOINT_URL: "http://127.0.0.1:9",
      AWS_ACCESS_KEY_ID: "k",
      AWS_SECRET_ACCESS_KEY: "s",
    });
    expect(await requestHost(buildS3Client({ region: "us-east-1" }).client)).toBe("host:127.0.0.1:9");
    const own = buildS3Client({ region: "eu-west-1", configuredEndpoints: false });
    expect((await own.endpoint()).url).toBe("https://s3.eu-west-1.amazonaws.com");
    expect(await requestHost(own.client)).toBe("host:some-bucket.s3.eu-west-1.amazonaws.com");
    const named = buildS3Client({
      region: "us-east-1",
      endpoint: "http://127.0.0.1:8",
      configuredEndpoints: false,
      endpointSource: "the caller",
    });
    expect((await named.endpoint()).hint).toContain("comes from the caller");
    expect(await requestHost(named.client)).toBe("host:127.0.0.1:8");
  });
});

describe("mount request", () => {
  /** As the daemon takes a request: its params checked at the socket, then parsed. */
  const parseMountRequest = (p: Record<string, unknown>) => parseChecked(checkParams("mount", p));
  const base = { spec: "ns/name:v1", mountpoint: "/mnt/x" };

  it("needs a resolved registry, and never takes one from the daemon's environment", () => {
    process.env.QUILT_REGISTRY = "s3://from-daemon-env";
    expect(() => parseMountRequest(base)).toThrow(/needs a resolved "registry"/);
    expect(() => parseMountRequest({ ...base, registry: "relative/dir" })).toThrow(
      /needs a resolved "registry"/,
    );
    const r = parseMountRequest({
      ...base,
      registry: "s3://bucket",
      s3: { endpoint: "http://e" },
      credentials: "abc",
      verify: "strict",
    });
    expect(r).toMatchObject({
      spec: { name: "ns/name", tag: "v1", registry: { url: "s3://bucket" } },
      s3: { endpoint: "http://e" },
      credentials: "abc",
      verify: "strict",
      allowOther: false,
    });
    expect(parseMountRequest({ ...base, registry: "s3://bucket", verify: "default" }).verify).toBeUndefined();
  });

  it("refuses a spec naming another registry, and unknown verify modes", () => {
    expect(() => parseMountRequest({ ...base, spec: "s3://other/ns/name", registry: "s3://bucket" })).toThrow(
      /names two registries/,
    );
    expect(
      parseMountRequest({ ...base, spec: "s3://bucket/ns/name", registry: "s3://bucket" }).spec.registry.url,
    ).toBe("s3://bucket");
    expect(() => parseMountRequest({ ...base, registry: "s3://bucket", verify: "paranoid" })).toThrow(
      /Invalid verify mode/,
    );
  });
});
