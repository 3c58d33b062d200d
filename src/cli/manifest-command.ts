// `quilt manifest export NAME [-o FILE] [--format parquet|jsonl]`: one row per entry of a
// package version (logical key, physical key, bucket, key, version id, size, hash, metadata)
// for Spark, Ray Data, Dask or DuckDB to read the objects straight from S3 in parallel.
// The rows go to FILE, or as JSON Lines to stdout; either way only once the version's top
// hash was checked (src/api/manifest-export.ts), so a bad manifest prints nothing.
import { rmSync } from "node:fs";
import { mkdtemp, open, rm, type FileHandle } from "node:fs/promises";
import { tmpdir } from "node:os";
import { extname, join } from "node:path";
import { errnoCode, QuiltError } from "../errors.js";
import { quoted } from "../untrusted-text.js";
import { shortHash } from "../manifest/version-label.js";
import { exportManifest, type ExportResult } from "../api/manifest-export.js";
import { EXPORT_FORMATS, type ExportFormat } from "../api/export-writers.js";
import { defineCommand } from "./command.js";
import { withRegistry } from "./registry-option.js";

const FORMAT_HINT =
  "use --format parquet (Spark, Dask, Ray Data, pyarrow, DuckDB) or --format jsonl (one JSON object per line)";

/** --format, else the output file's extension (.parquet/.pq, else JSON Lines). */
function formatOf(given: string | undefined, output: string | undefined): ExportFormat {
  const format = given ?? ([".parquet", ".pq"].includes(extname(output ?? "")) ? "parquet" : "jsonl");
  const known = EXPORT_FORMATS.find((f) => f === format);
  if (known === undefined)
    throw new QuiltError("EUSAGE", `Unknown export format ${quoted(format)}`, { hint: FORMAT_HINT });
  return known;
}

export const manifestCommand = defineCommand({
  builder: (y) =>
    withRegistry(y)
      .positional("action", {
        choices: ["export"] as const,
        demandOption: true,
        describe: "export: one row per entry",
      })
      .positional("name", { type: "string", describe: "Package: ns/name[:tag][@hash]", demandOption: true })
      .option("output", {
        alias: "o",
        type: "string",
        requiresArg: true,
        describe: "File to write (replaced if it exists); default stdout, JSON Lines only",
      })
      .option("format", {
        type: "string",
        requiresArg: true,
        describe: `${EXPORT_FORMATS.join(" | ")} (default: parquet for an -o FILE ending in .parquet, else jsonl)`,
      })
      .example("quilt manifest export ns/dataset:v1 -o dataset.parquet", "a Parquet table of the entries")
      .example("quilt manifest export ns/dataset:v1 | head -3", "the first rows as JSON Lines")
      .epilogue(
        "Columns: logical_key, physical_key (s3://bucket/key?versionId=..., as in the manifest), bucket, key, " +
          "version_id (null when unversioned), size, hash_type, hash_value, meta (the entry's metadata as JSON text; " +
          "user metadata under user_meta). A reader GETs bucket/key at version_id and checks the bytes against " +
          "hash_value (hash_type sha2-256-chunked, quilt3's default, or SHA256). The manifest is read in one pass, " +
          "whatever its size, and nothing is written unless its top hash matches. docs/processing-with-dask.md " +
          "shows Dask reading a package's files this way, with the hash check.",
      ),
  async handler(args, ctx) {
    const format = formatOf(args.format, args.output);
    const opts = { format, ...(ctx.globals.registry !== undefined && { registry: ctx.globals.registry }) };
    if (args.output !== undefined) {
      const r = await exportManifest(args.name, args.output, { ...opts, session: ctx.quilt });
      ctx.print(summary(r), r);
      return;
    }
    if (format !== "jsonl")
      throw new QuiltError("EUSAGE", "A Parquet export is written to a file, not to stdout", {
        hint: "give -o FILE.parquet (JSON Lines can go to stdout)",
      });
    if (ctx.globals.json)
      throw new QuiltError("EUSAGE", "--json prints a summary on stdout, where the rows go without -o", {
        hint: "give -o FILE for the rows, or leave out --json",
      });
    // Through a private file, so stdout gets rows only once the whole manifest was verified.
    // It is unlinked before the rows go out: a reader that stops early (`| head`) ends this
    // process at once (bin/quilt.js), and the file must not outlive it.
    const dir = await mkdtemp(join(tmpdir(), "quilt-export-"));
    const onExit = (): void => rmSync(dir, { recursive: true, force: true });
    process.once("exit", onExit);
    let rows: FileHandle;
    try {
      const r = await exportManifest(args.name, join(dir, "rows.jsonl"), { ...opts, session: ctx.quilt });
      rows = await open(r.path);
    } finally {
      await rm(dir, { recursive: true, force: true });
      process.removeListener("exit", onExit);
    }
    try {
      // No encoding is given, so the chunks are Buffers (Node's types say any).
      const chunks: AsyncIterable<Buffer> = rows.createReadStream();
      for await (const chunk of chunks) await ctx.io.outBytes(chunk);
    } catch (err) {
      // The reader went away (`... | head`): nothing more to say, like cat.
      if (errnoCode(err) !== "EPIPE") throw err;
    } finally {
      await rows.close().catch(() => undefined);
    }
  },
});

function summary(r: ExportResult): string {
  return `Exported ${r.rows} entries of ${r.name}@${shortHash(r.topHash)} to ${r.path} (${r.format})`;
}
