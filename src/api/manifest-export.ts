// `exportManifest`: a package version's entries as a table (export-rows.ts) in Parquet or
// JSON Lines, for tools that then read the objects straight from S3 in parallel.
//
// It streams: the manifest is read in batches (manifest-stream.ts) from the manifest cache
// or the registry, rows are written as they come, and a million-entry version never has all
// its entries in memory. A manifest not in quilt3's layout cannot be checked that way and is
// loaded whole (Registry.loadManifest), as every other command loads one.
//
// Integrity (docs/RELIABILITY.md): rows go to a temporary file beside the destination, which
// takes the destination's name only once the top hash computed over the entries equals the
// version's; a mismatch leaves no file behind. A cached manifest whose bytes do not match the
// SHA-256 recorded when it was fetched is dropped from the cache and read from the registry,
// and a manifest read from the registry is kept in the cache only once verified.
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { isQuiltError } from "../errors.js";
import { fromOsError } from "../os-errors.js";
import type { ManifestEntry } from "../manifest/manifest.js";
import { NotStreamable, streamManifest } from "../manifest/manifest-stream.js";
import { hashMismatch } from "../storage/manifest-cache.js";
import {
  cachedManifestSource,
  registryManifestSource,
  type ManifestSource,
} from "../storage/manifest-source.js";
import type { Registry } from "../storage/registry.js";
import type { Resolved } from "../storage/registry-pointers.js";
import type { TopHash } from "../types.js";
import { getDefaultSession, type Session } from "../session.js";
import { exportRow } from "./export-rows.js";
import { openRowWriter, type ExportFormat, type RowWriter } from "./export-writers.js";

export interface ExportOptions {
  format: ExportFormat;
  registry?: string;
  session?: Session;
}

export interface ExportResult {
  registry: string;
  name: string;
  topHash: TopHash;
  rows: number;
  format: ExportFormat;
  path: string;
  /** False when the manifest was not in quilt3's layout and was loaded whole. */
  streamed: boolean;
}

/** Entries handed to a writer in batches of at most this many (the whole-manifest path). */
const BATCH = 10_000;

/** Writes one row per entry of `spec` (ns/name[:tag][@hash] or a URL) to the file `dest`. */
export async function exportManifest(spec: string, dest: string, opts: ExportOptions): Promise<ExportResult> {
  const session = opts.session ?? getDefaultSession();
  const parsed = session.parseSpec(spec, opts.registry);
  const registry = session.registry(parsed.registry);
  const resolved = await registry.resolve(parsed.name, {
    ...(parsed.tag !== undefined && { tag: parsed.tag }),
    ...(parsed.hash !== undefined && { hash: parsed.hash }),
  });
  const tmp = join(dirname(dest), `.${basename(dest)}.${randomBytes(6).toString("hex")}.tmp`);
  const { rows, streamed } = await intoFile(tmp, dest, opts.format, (open) =>
    writeRows(registry, resolved, open),
  );
  return {
    registry: registry.url.url,
    name: resolved.name,
    topHash: resolved.topHash,
    rows,
    format: opts.format,
    path: dest,
    streamed,
  };
}

type Written = { rows: number; streamed: boolean };

/** Runs `fill` on a fresh writer into `tmp` and moves the complete file to `dest`, or removes it. */
async function intoFile(
  tmp: string,
  dest: string,
  format: ExportFormat,
  fill: (open: () => Promise<RowWriter>) => Promise<Written>,
): Promise<Written> {
  let writer: RowWriter | undefined;
  // A process that exits meanwhile (Ctrl-C, a closed stdout) leaves no half-written file.
  const onExit = (): void => rmSync(tmp, { force: true });
  process.once("exit", onExit);
  const openFresh = async (): Promise<RowWriter> => {
    await writer?.close().catch(() => undefined);
    await rm(tmp, { force: true });
    const w = await asDestError(() => openRowWriter(format, tmp), dest);
    writer = {
      write: (rows) => asDestError(() => w.write(rows), dest),
      finish: () => asDestError(() => w.finish(), dest),
      close: () => w.close(),
    };
    return writer;
  };
  try {
    const written = await fill(openFresh);
    await writer?.finish();
    await asDestError(() => rename(tmp, dest), dest);
    return written;
  } catch (err) {
    await writer?.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw err;
  } finally {
    process.removeListener("exit", onExit);
  }
}

/** An fs error while writing the export, in terms of the destination the user named. */
async function asDestError<T>(fn: () => Promise<T>, dest: string): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw fromOsError(err, { verb: "write", path: dest }) ?? err;
  }
}

/** The cached copy, else the registry's, else (not in quilt3's layout) the manifest loaded whole. */
async function writeRows(registry: Registry, r: Resolved, open: () => Promise<RowWriter>): Promise<Written> {
  try {
    const cached = await cachedManifestSource(registry, r);
    if (cached !== undefined) {
      const rows = await streamRows(cached, r, await open()).catch((err: unknown) => {
        // A damaged cached copy may not even parse: the cache then fetches it again, and so do we.
        if (isQuiltError(err, "EBADMANIFEST")) return undefined;
        throw err;
      });
      if (rows !== undefined) return { rows, streamed: true };
      await registry.manifests.forget(r.name, r.topHash);
    }
    const source = await registryManifestSource(registry, r);
    try {
      const rows = (await streamRows(source, r, await open())) as number;
      await source.keep();
      return { rows, streamed: true };
    } catch (err) {
      await source.discard();
      throw err;
    }
  } catch (err) {
    if (!(err instanceof NotStreamable)) throw err;
  }
  const manifest = await registry.loadManifest(r);
  const writer = await open();
  for (let i = 0; i < manifest.entries.length; i += BATCH)
    await writer.write(manifest.entries.slice(i, i + BATCH).map(exportRow));
  return { rows: manifest.entries.length, streamed: false };
}

/**
 * The rows of one source, verified: the number written, or undefined when the manifest
 * cache's copy failed a check (the caller reads the registry's). A registry's manifest that
 * does not match its top hash is refused.
 */
async function streamRows(
  source: ManifestSource,
  r: Resolved,
  writer: RowWriter,
): Promise<number | undefined> {
  const streamed = await streamManifest(source.bytes, (entries: ManifestEntry[]) =>
    writer.write(entries.map(exportRow)),
  );
  const ok = streamed.topHash === r.topHash && source.intact();
  if (ok) return streamed.entries;
  if (source.cached) return undefined;
  throw hashMismatch(r.topHash, streamed.topHash, source.where);
}
