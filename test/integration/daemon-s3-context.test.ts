// One daemon, mounts with different S3 endpoints: the endpoint, region and profile come
// from the shell that runs `quilt mount`, not from the shell that started the daemon. Two
// recording proxies in front of moto stand for two endpoints: the daemon is started from a
// shell pointing at the first, a later mount comes from a shell pointing at the second, and
// each proxy's log shows whose reads went through it, also after kill -9 and a restart
// from a shell whose endpoint is dead. Environment credentials other than the daemon's are
// refused (they are never sent); a named profile is read by the daemon from ~/.aws files.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mountAt, mountState } from "../../src/fs/mount-table.js";
import { DaemonSandbox } from "../helpers/daemon-harness.js";
import { publishFiles } from "../helpers/daemon-fixtures.js";
import { startFaultProxy, type FaultProxy } from "../helpers/daemon-proxy.js";
import { fuseUnavailable } from "../helpers/fuse-harness.js";
import { s3TestEnv, uniquePrefix } from "../helpers/s3.js";

const unavailable = fuseUnavailable();
if (unavailable) console.warn(`Skipping daemon S3 context tests: ${unavailable}`);

const s3 = s3TestEnv();
const registry = `s3://${s3.bucket}`;
const salt = uniquePrefix("dmctx");
const A = { name: `${salt}/a`, data: `${salt}-a-data/` };
const B = { name: `${salt}/b`, data: `${salt}-b-data/` };
const FILES_A = {
  "early.txt": Buffer.from(`early A ${salt}\n`),
  "late.txt": Buffer.from(`late A ${salt}\n`),
};
const FILES_B = {
  "early.txt": Buffer.from(`early B, other bytes ${salt}\n`),
  "late.txt": Buffer.from(`late B, other bytes ${salt}\n`),
};

interface Listed {
  mountpoint: string;
  s3: { endpoint?: string; region?: string; profile?: string } | null;
}

/** Requests a proxy saw for a package (its tag or manifest lookups) or its data. */
function seen(proxy: FaultProxy, pkg: { name: string; data: string }): string[] {
  return proxy.requests
    .filter((r) => r.key.includes(pkg.name) || r.key.startsWith(pkg.data))
    .map((r) => `${r.method} ${r.key}`);
}

describe.skipIf(unavailable !== null)("daemon: S3 context per mount", () => {
  let startProxy: FaultProxy;
  let callerProxy: FaultProxy;
  let box: DaemonSandbox;
  let mntA = "";
  let mntB = "";

  beforeAll(async () => {
    await publishFiles(s3.endpoint, registry, A.name, FILES_A, { prefix: A.data });
    await publishFiles(s3.endpoint, registry, B.name, FILES_B, { prefix: B.data });
    startProxy = await startFaultProxy(s3.endpoint);
    callerProxy = await startFaultProxy(s3.endpoint);
    box = await DaemonSandbox.create("s3ctx", { endpoint: startProxy.endpoint });
    // A profile the daemon can read for itself (moto accepts any key).
    const aws = join(box.root, "aws");
    await mkdir(aws, { recursive: true });
    await writeFile(
      join(aws, "credentials"),
      "[moto]\naws_access_key_id = testing\naws_secret_access_key = testing\n",
    );
    Object.assign(box.env, {
      AWS_SHARED_CREDENTIALS_FILE: join(aws, "credentials"),
      AWS_CONFIG_FILE: join(aws, "config"),
    });
    mntA = await box.mountDir("a");
    mntB = await box.mountDir("b");
  });

  afterAll(async () => {
    await box?.cleanup();
    await startProxy?.close();
    await callerProxy?.close();
  });

  it("sends each mount's requests to the endpoint of the shell that mounted it", async () => {
    const first = await box.mount(`${A.name}:v1`, mntA, registry);
    expect(first.stdout).toContain("Started the quilt daemon");
    await box.ok(["mount", `${B.name}:v1`, mntB, "--registry", registry], {
      AWS_ENDPOINT_URL: callerProxy.endpoint,
    });
    expect(await readFile(join(mntA, "early.txt"))).toEqual(FILES_A["early.txt"]);
    expect(await readFile(join(mntB, "early.txt"))).toEqual(FILES_B["early.txt"]);

    expect(seen(startProxy, B)).toEqual([]);
    expect(seen(callerProxy, A)).toEqual([]);
    expect(callerProxy.requests.some((r) => r.key.includes(`named_packages/${B.name}/v1`))).toBe(true);
    expect(callerProxy.gets(`${B.data}early.txt`).length).toBeGreaterThan(0);
    expect(startProxy.gets(`${A.data}early.txt`).length).toBeGreaterThan(0);

    const listed = JSON.parse((await box.ok(["mounts", "--json"])).stdout) as Listed[];
    expect(Object.fromEntries(listed.map((m) => [m.mountpoint, m.s3?.endpoint]))).toEqual({
      [mntA]: startProxy.endpoint,
      [mntB]: callerProxy.endpoint,
    });
  });

  it("keeps each mount's endpoint after kill -9 and a restart from a shell whose endpoint is dead", async () => {
    await box.kill9();
    expect(await mountState(mntB)).toBe("stale");
    await box.ok(["daemon", "start"], { AWS_ENDPOINT_URL: "http://127.0.0.1:1" });
    expect(await mountState(mntA), await box.logTail()).toBe("live");
    expect(await mountState(mntB), await box.logTail()).toBe("live");
    // Files nobody read before the crash: fetched now, through each mount's own endpoint.
    expect(await readFile(join(mntA, "late.txt"))).toEqual(FILES_A["late.txt"]);
    expect(await readFile(join(mntB, "late.txt"))).toEqual(FILES_B["late.txt"]);
    expect(startProxy.gets(`${A.data}late.txt`).length).toBeGreaterThan(0);
    expect(callerProxy.gets(`${B.data}late.txt`).length).toBeGreaterThan(0);
    expect(seen(startProxy, B)).toEqual([]);
    expect(seen(callerProxy, A)).toEqual([]);
  });

  it("refuses environment credentials other than the daemon's; a named profile works", async () => {
    const mntC = await box.mountDir("c");
    const other = { AWS_ENDPOINT_URL: callerProxy.endpoint, AWS_ACCESS_KEY_ID: "someone-else" };
    const before = callerProxy.requests.length;
    const refused = await box.cli(["mount", `${B.name}:v1`, mntC, "--registry", registry], other);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(
      "cannot use this shell's AWS credentials: this shell's AWS_ACCESS_KEY_ID differs from the one in the daemon's environment",
    );
    expect(refused.stderr).toContain("AWS_PROFILE");
    expect(callerProxy.requests.length).toBe(before); // refused before any S3 request
    expect(await mountAt(mntC)).toBeUndefined();

    await box.ok(["mount", `${B.name}:v1`, mntC, "--registry", registry], { ...other, AWS_PROFILE: "moto" });
    expect(await readFile(join(mntC, "early.txt"))).toEqual(FILES_B["early.txt"]);
    const listed = JSON.parse((await box.ok(["mounts", "--json"])).stdout) as Listed[];
    expect(listed.find((m) => m.mountpoint === mntC)?.s3).toEqual({
      endpoint: callerProxy.endpoint,
      region: "us-east-1",
      profile: "moto",
    });
  });
});
