// Property test: for hundreds of random manifests, written with odd but valid spellings,
// our top hash equals the one the real quilt3 computes for the same file, and our
// rewrite of the file is byte-identical to quilt3's own dump of it.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { readManifest } from "../../src/manifest/manifest-reader.js";
import { serializeManifest } from "../../src/manifest/manifest-writer.js";
import { randomManifest, rawManifest } from "../helpers/random-manifest.js";
import { runQuilt3Json } from "../helpers/quilt3.js";

const CASES = Number(process.env.QUILT_PROPERTY_CASES ?? 400);
const SEED = Number(process.env.QUILT_PROPERTY_SEED ?? Date.now() % 2 ** 31);

describe("top hash and writer against the real quilt3", () => {
  it(`agree on ${CASES} random manifests (seed ${SEED})`, async () => {
    const dir = mkdtempSync(join(tmpdir(), "quilt-prop-"));
    const samples = fc.sample(randomManifest, { numRuns: CASES, seed: SEED });
    const paths = samples.map((m, i) => {
      const p = join(dir, `m${i}.jsonl`);
      writeFileSync(p, rawManifest(m, SEED + i), "utf8");
      return p;
    });
    const quilt3 = await runQuilt3Json<{ top: string; dump: string }[]>(
      `import io, quilt3
out = []
for p in ARGS:
    with open(p, encoding="utf-8") as f:
        pkg = quilt3.Package.load(f)
    buf = io.StringIO()
    pkg.dump(buf)
    out.append({"top": pkg.top_hash, "dump": buf.getvalue()})
print(json.dumps(out))`,
      paths,
      { timeoutMs: 300_000 },
    );
    expect(quilt3).toHaveLength(CASES);
    let checkedEntries = 0;
    for (let i = 0; i < CASES; i++) {
      const ours = await readManifest([rawManifest(samples[i] as never, SEED + i)]);
      const theirs = quilt3[i] as { top: string; dump: string };
      const context = `case ${i} (${paths[i]})`;
      expect(ours.topHash, context).toBe(theirs.top);
      expect(serializeManifest(ours).toString("utf8"), context).toBe(theirs.dump);
      checkedEntries += ours.size;
    }
    // The generator must actually produce content, or the comparison proves nothing.
    expect(checkedEntries).toBeGreaterThan(CASES);
  });
});
