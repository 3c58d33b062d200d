// `quilt manifest export` at scale (issue 15): a generated package of N entries (default
// 1,000,000; test/helpers/big-manifest.ts) in a local registry, exported to Parquet and to
// JSON Lines, each in a fresh process timed from spawn to exit with its peak RSS from
// /usr/bin/time. Baselines in the same run: what a quilt3 user writes for the same table
// (Package.browse, walk, pyarrow.Table.from_pylist, write_table), and our own `quilt ls`,
// which loads the whole manifest as every command but export does. pyarrow then reads the
// export back and checks its row count. Writes the "Manifest export" section of
// docs/BENCHMARKS.md.
//
// Usage: npx tsc -p tsconfig.json && npx tsx scripts/bench-export.ts [--entries N] [--no-write]
// (BENCH_EXPORT_ENTRIES in the environment too).
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { pushBigPackage } from "../test/helpers/big-manifest.js";
import { VENV_BIN } from "../test/helpers/moto-server.js";
import { quilt3Env } from "../test/helpers/quilt3.js";
import {
  commitLine,
  fmtSeconds,
  intOption,
  loadLine,
  machineLine,
  measure,
  QUILT_BIN,
  today,
  writeSection,
  type Measured,
} from "./bench-support.js";

const START = "<!-- bench-export:start -->";
const END = "<!-- bench-export:end -->";
const NAME = "bench/export";

const { values: args } = parseArgs({
  options: { entries: { type: "string" }, "no-write": { type: "boolean" } },
});
const ENTRIES = intOption(args.entries, "BENCH_EXPORT_ENTRIES", 1_000_000);

/** What a quilt3 user writes to get the same table (ARGS: registry, out). */
const QUILT3_TABLE = `
import pyarrow as pa, pyarrow.parquet as pq, quilt3
p = quilt3.Package.browse(ARGS["name"], registry=ARGS["registry"])
rows = []
for lk, e in p.walk():
    pk = e.physical_key
    rows.append({"logical_key": lk, "physical_key": str(pk), "bucket": pk.bucket, "key": pk.path,
                 "version_id": pk.version_id, "size": e.size, "hash_type": e.hash["type"],
                 "hash_value": e.hash["value"], "meta": json.dumps(e._meta)})
pq.write_table(pa.Table.from_pylist(rows), ARGS["out"])
`;

const COUNT_ROWS = `
import pyarrow.parquet as pq
print(pq.ParquetFile(ARGS["file"]).metadata.num_rows)
`;

function python(script: string, a: Record<string, string>, home: string): Promise<Measured> {
  const prelude = "import json, sys\nARGS = json.loads(sys.stdin.read())\n";
  return measure(
    join(VENV_BIN, "python"),
    ["-c", prelude + script],
    quilt3Env(home),
    home,
    JSON.stringify(a),
  );
}

function row(step: string, m: Measured, base: Measured, how: string): string {
  const r = (x: number, y: number): string => `${(x / y).toFixed(2)}×`;
  return `| ${step} | ${fmtSeconds(m.seconds)} | ${m.rssMiB.toFixed(0)} MiB | ${r(m.seconds, base.seconds)} | ${r(m.rssMiB, base.rssMiB)} | ${how} |`;
}

async function main(): Promise<void> {
  const scratch = await mkdtemp(join(tmpdir(), "quilt-bench-export-"));
  try {
    const registry = join(scratch, "registry");
    console.error(`generating ${ENTRIES} entries`);
    await pushBigPackage(registry, NAME, { files: ENTRIES, perDir: 1000, flat: Math.floor(ENTRIES / 10) });
    const env = (cache: string): NodeJS.ProcessEnv => ({
      ...process.env,
      QUILT_REGISTRY: registry,
      QUILT_CACHE_DIR: join(scratch, cache),
      QUILT_NO_LOG_FILE: "1",
    });
    const quilt = (argv: string[], cache: string): Promise<Measured> =>
      measure(process.execPath, [QUILT_BIN, ...argv], env(cache), scratch);

    console.error("quilt manifest export (parquet)");
    const parquet = await quilt(["manifest", "export", NAME, "-o", join(scratch, "rows.parquet")], "c1");
    console.error("quilt manifest export (jsonl)");
    const jsonl = await quilt(["manifest", "export", NAME, "-o", join(scratch, "rows.jsonl")], "c2");
    console.error("quilt ls (loads the whole manifest)");
    const ls = await quilt(["ls", NAME], "c3");
    console.error("quilt3 + pyarrow");
    const q3 = await python(
      QUILT3_TABLE,
      { name: NAME, registry: `file://${registry}`, out: join(scratch, "q3.parquet") },
      scratch,
    );
    const rows = Number(
      (await python(COUNT_ROWS, { file: join(scratch, "rows.parquet") }, scratch)).stdout.trim(),
    );
    if (rows !== ENTRIES) throw new Error(`pyarrow read ${rows} rows, expected ${ENTRIES}`);
    const size = (await stat(join(scratch, "rows.parquet"))).size / 2 ** 20;

    const section = [
      START,
      "## Manifest export",
      "",
      `\`quilt manifest export\` of a generated package of ${ENTRIES.toLocaleString("en-US")} entries in a local`,
      "registry (`scripts/bench-export.ts`), each step a fresh process with a cold manifest cache, timed",
      "from spawn to exit, peak RSS from /usr/bin/time. The baseline, in the same run, is what a quilt3",
      "user writes for the same table: `Package.browse`, `walk()`, `pyarrow.Table.from_pylist`,",
      `\`write_table\`. pyarrow read ${rows.toLocaleString("en-US")} rows back from our Parquet file (${size.toFixed(0)} MiB).`,
      "",
      "| step | time | peak RSS | time vs quilt3 | RSS vs quilt3 | how |",
      "|---|---|---|---|---|---|",
      row("export to Parquet", parquet, q3, "`quilt manifest export NAME -o rows.parquet`"),
      row("export to JSON Lines", jsonl, q3, "`quilt manifest export NAME -o rows.jsonl`"),
      row("load the whole manifest", ls, q3, "`quilt ls NAME` (every other command loads it so)"),
      row("quilt3 + pyarrow (baseline)", q3, q3, "Python, as above"),
      "",
      `Machine: ${machineLine()}. Load average at the end: ${loadLine()} (a shared machine). ${today()}, ${commitLine()}.`,
      END,
    ].join("\n");
    console.log(section);
    if (!args["no-write"]) await writeSection(START, END, section);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

await main();
