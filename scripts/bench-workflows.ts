// Benchmark (not a test) of a workflow's entries_schema check on a large package: the JSON
// Schema check a push runs over [{logical_key, size, meta}] of every entry, ours (Ajv, on the
// manifest model) next to quilt3's (Python jsonschema's Draft7Validator, as quilt3 8.0 runs
// it), in the same run, on the same schema and entries. Only the check is timed (building
// the list is not); each side's peak RSS is of its whole process. Prints a Markdown section
// and writes it into docs/BENCHMARKS.md between its markers.
//
//   npx tsx scripts/bench-workflows.ts [--entries 1000000] [--no-write]
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { JsonValue } from "../src/manifest/json-value.js";
import { JsonSchema } from "../src/workflows/json-schema.js";
import { fmtSeconds, intOption, REPO_ROOT, writeSection, sharedRunLine } from "./bench-support.js";

const START = "<!-- bench-workflows:start -->";
const END = "<!-- bench-workflows:end -->";
// Every entry passes (the whole list is checked), with a per-item pattern and a bound.
const SCHEMA =
  '{"type": "array", "items": {"type": "object", "required": ["logical_key", "size"], ' +
  '"properties": {"logical_key": {"type": "string", "pattern": "^[^ ]+$"}, "size": {"type": "integer", "maximum": 1000000000000}}}}';

const PYTHON = `
import json, resource, sys, time
import jsonschema
n = int(sys.argv[1])
schema = json.loads(sys.argv[2])
empty = {}
entries = [{"logical_key": f"train/{i // 1000}/{i}.jpg", "size": 100000 + i, "meta": empty} for i in range(n)]
v = jsonschema.Draft7Validator(schema)
t0 = time.perf_counter()
v.validate(entries)
s = time.perf_counter() - t0
print(json.dumps({"seconds": s, "peakRssMiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
`;

function ours(n: number): { seconds: number; peakRssMiB: number } {
  const schema = JsonSchema.compile(Buffer.from(SCHEMA), "bench", "bench");
  const empty = new Map<string, JsonValue>();
  const entries: JsonValue[] = [];
  for (let i = 0; i < n; i++)
    entries.push(
      new Map<string, JsonValue>([
        ["logical_key", `train/${Math.floor(i / 1000)}/${i}.jpg`],
        ["size", 100000 + i],
        ["meta", empty],
      ]),
    );
  const t0 = performance.now();
  const failure = schema.check(entries);
  const seconds = (performance.now() - t0) / 1000;
  if (failure) throw new Error(`the entries should pass: ${failure.message}`);
  return { seconds, peakRssMiB: process.resourceUsage().maxRSS / 1024 };
}

function theirs(n: number): { seconds: number; peakRssMiB: number } {
  const r = spawnSync(join(REPO_ROOT, ".venv", "bin", "python"), ["-c", PYTHON, String(n), SCHEMA], {
    encoding: "utf8",
    maxBuffer: 1 << 20,
  });
  if (r.status !== 0) throw new Error(`python failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as { seconds: number; peakRssMiB: number };
}

async function main(): Promise<void> {
  const { values: args } = parseArgs({
    options: { entries: { type: "string" }, "no-write": { type: "boolean", default: false } },
  });
  const n = intOption(args.entries, "BENCH_ENTRIES", 1_000_000);
  const q3 = theirs(n);
  const mine = ours(n);
  const section = [
    START,
    "## Workflow entries_schema check on a large package (scripts/bench-workflows.ts)",
    "",
    sharedRunLine(),
    "",
    `${n.toLocaleString("en")} entries checked against one entries_schema (a pattern on each logical key, a bound on each size; every entry passes, so the whole list is checked). ` +
      "Only the check is timed; peak RSS is the whole process's, the list of entries included " +
      "(a Node process under tsx starts near 100 MiB, a Python one near 10).",
    "",
    "| Check | Time | Peak RSS |",
    "|---|---|---|",
    `| ours (Ajv over the manifest model) | ${fmtSeconds(mine.seconds)} | ${mine.peakRssMiB.toFixed(0)} MiB |`,
    `| quilt3 8.0 (jsonschema Draft7Validator, baseline) | ${fmtSeconds(q3.seconds)} | ${q3.peakRssMiB.toFixed(0)} MiB |`,
    `| ratio ours / quilt3 | ${(mine.seconds / q3.seconds).toFixed(3)}× | ${(mine.peakRssMiB / q3.peakRssMiB).toFixed(2)}× |`,
    END,
  ].join("\n");
  console.log(section);
  if (!args["no-write"]) await writeSection(START, END, section);
}

await main();
