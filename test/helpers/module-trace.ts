// Which modules a `quilt` process loaded: NODE_OPTIONS=--import of a small tracer whose
// loader hook (module.register) sees every ESM load and every CommonJS package imported
// from ESM, and writes their URLs at exit to DIR/<pid>.txt, one file per process (a
// command that starts the daemon leaves two).
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const TRACER = `
import { register } from "node:module";
import { MessageChannel } from "node:worker_threads";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
const { port1, port2 } = new MessageChannel();
const seen = [];
port1.on("message", (url) => seen.push(url));
port1.unref();
const hook = "let port; export function initialize(d) { port = d.port; } " +
  "export async function load(url, ctx, next) { const r = await next(url, ctx); port.postMessage(url); return r; }";
register("data:text/javascript," + encodeURIComponent(hook), { data: { port: port2 }, transferList: [port2] });
process.on("exit", () => writeFileSync(join(process.env.QUILT_TEST_TRACE_DIR, process.pid + ".txt"), seen.join("\\n")));
`;

/** Packages a command that only talks to the daemon or prints help must not load: each costs 30-200 ms of CPU at start. */
export const HEAVY_PACKAGES = [
  "@aws-sdk/crc64-nvme",
  "@aws-sdk/client-s3",
  "@smithy/signature-v4",
  "lmdb",
  "ajv",
  "hyparquet",
  "hyparquet-writer",
];

export class ModuleTrace {
  private constructor(readonly dir: string) {}

  static create(): ModuleTrace {
    const dir = mkdtempSync(join(tmpdir(), "quilt-module-trace-"));
    writeFileSync(join(dir, "tracer.mjs"), TRACER);
    return new ModuleTrace(dir);
  }

  /** The environment that traces a process (and the processes it starts). */
  get env(): Record<string, string> {
    return { NODE_OPTIONS: `--import=${join(this.dir, "tracer.mjs")}`, QUILT_TEST_TRACE_DIR: this.dir };
  }

  /** The URLs each traced process loaded, by pid; the files are removed, so the next command starts afresh. */
  take(): Map<number, string[]> {
    const out = new Map<number, string[]>();
    for (const f of readdirSync(this.dir).filter((n) => n.endsWith(".txt"))) {
      const path = join(this.dir, f);
      out.set(Number(f.slice(0, -4)), readFileSync(path, "utf8").split("\n").filter(Boolean));
      rmSync(path);
    }
    return out;
  }
}

/** Of HEAVY_PACKAGES, those loaded (from any node_modules). */
export function heavyLoaded(urls: string[]): string[] {
  return HEAVY_PACKAGES.filter((p) => urls.some((u) => u.includes(`/node_modules/${p}/`)));
}
