// The least work any client must do to install a package from an S3 server: one signed GET
// per object, `concurrency` at a time on keep-alive sockets, bodies counted and discarded;
// nothing hashed, nothing written. bench-download.ts runs it in a process of its own and
// reads the server's CPU meanwhile: what the server spends here is what serving the package
// costs it whoever asks, so quilt3's time over this floor bounds any client's speedup.
//
//   node --import tsx scripts/bench-bare-gets.ts '{"endpoint": ..., "env": {...}, "name": ..., "registry": ..., "concurrency": 16}'
import { SignatureV4 } from "@smithy/signature-v4";
import { Agent, request } from "node:http";
import { performance } from "node:perf_hooks";
import { Package, Session } from "../src/index.js";
// Only the signer's hash adapter (node:crypto behind the interface it wants) comes from src.
import { NodeSha256 } from "../src/storage/s3-signing.js";

export interface BareGetsJob {
  endpoint: string;
  env: Record<string, string>;
  name: string;
  registry: string;
  cacheDir: string;
  concurrency: number;
}

export interface BareGetsReport {
  seconds: number;
  files: number;
  bytes: number;
}

async function main(job: BareGetsJob): Promise<void> {
  Object.assign(process.env, job.env);
  // The manifest is read with our library, untimed: only the GETs count.
  const ctx = new Session({
    cacheDir: job.cacheDir,
    s3: { endpoint: job.endpoint, forcePathStyle: true },
  });
  const pkg = await Package.browse(job.name, { registry: job.registry, session: ctx });
  const objects = [...pkg].map((e) => new URL(e.physicalKey));
  await ctx.close();

  const url = new URL(job.endpoint);
  const signer = new SignatureV4({
    credentials: {
      accessKeyId: job.env.AWS_ACCESS_KEY_ID ?? "",
      secretAccessKey: job.env.AWS_SECRET_ACCESS_KEY ?? "",
      ...(job.env.AWS_SESSION_TOKEN ? { sessionToken: job.env.AWS_SESSION_TOKEN } : {}),
    },
    region: job.env.AWS_REGION ?? "us-east-1",
    service: "s3",
    sha256: NodeSha256,
    uriEscapePath: false,
    applyChecksum: false,
  });
  const agent = new Agent({ keepAlive: true, maxSockets: job.concurrency });
  const get = async (obj: URL): Promise<number> => {
    // s3://bucket/key?versionId=v -> path-style /bucket/key, the key kept as the manifest encodes it.
    const path = `/${obj.hostname}${obj.pathname}`;
    const versionId = obj.searchParams.get("versionId");
    const query: Record<string, string> = versionId ? { versionId } : {};
    const signed = await signer.sign({
      method: "GET",
      protocol: url.protocol,
      hostname: url.hostname,
      port: Number(url.port),
      path,
      query,
      headers: { host: url.host, "x-amz-content-sha256": "UNSIGNED-PAYLOAD" },
    });
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          method: "GET",
          path: path + (versionId ? `?versionId=${encodeURIComponent(versionId)}` : ""),
          headers: signed.headers,
          agent,
        },
        (res) => {
          let n = 0;
          res.on("data", (c: Buffer) => (n += c.length));
          res.on("end", () =>
            res.statusCode === 200
              ? resolve(n)
              : reject(new Error(`GET ${obj.href}: HTTP ${res.statusCode}`)),
          );
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end();
    });
  };

  const t0 = performance.now();
  let next = 0;
  let bytes = 0;
  await Promise.all(
    Array.from({ length: job.concurrency }, async () => {
      while (next < objects.length) {
        const n = await get(objects[next++] as URL);
        bytes += n;
      }
    }),
  );
  const report: BareGetsReport = { seconds: (performance.now() - t0) / 1000, files: objects.length, bytes };
  agent.destroy();
  console.log(JSON.stringify(report));
}

const arg = process.argv[2];
if (arg === undefined) throw new Error("usage: bench-bare-gets.ts JOB_JSON");
await main(JSON.parse(arg) as BareGetsJob);
