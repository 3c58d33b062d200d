// `quilt cache stats|clear|prefetch`: the local data cache that the library and the daemon
// share by content. prefetch fetches a package (or a prefix of it) ahead of time, verified;
// clear empties it, only when asked, since every package and mount on this machine uses it:
// the blocks the library's and the daemon's indexes list, or with --all the whole data
// directory (other daemons sharing it included), and the daemon's manifest index of every
// version no mount uses (indexed again from its manifest at its next mount).
import { existsSync } from "node:fs";
import { Session } from "../session.js";
import { QuiltError } from "../errors.js";
import { DaemonClient } from "../daemon/client.js";
import { pingDaemon } from "../daemon/lifecycle.js";
import { daemonPaths, daemonSessionOptions, type DaemonPaths } from "../daemon/paths.js";
import type { CommandContext } from "./context.js";
import { defineCommand } from "./command.js";
import { versionJson } from "./consumer-shared.js";
import { formatBytes } from "./progress.js";
import { indexStatsLines } from "./index-stats.js";
import { stoppedIndexStats } from "./stopped-index-stats.js";
import { openPackageAt } from "./shared.js";
import { withRegistry } from "./registry-option.js";
import { exitCodeFor } from "./exit-codes.js";
import { quoted } from "../untrusted-text.js";
import { DEFAULT_PREFETCH_FILES } from "../api/cache-entries.js";
import { indexSizeBytes } from "../config.js";
import { ManifestIndex } from "../storage/manifest-index.js";
import { evictVersions } from "../storage/manifest-index-eviction.js";
import { removeInBatches } from "../storage/manifest-index-drop.js";

/** What a clear did to the manifest index: versions dropped, and the file LMDB keeps at its largest size. */
interface IndexCleared {
  dropped: number;
  usedBytes: number;
  fileBytes: number;
}

/**
 * The blocks a stopped daemon's index lists (it keeps them in the same data directory by
 * default), cleared through that index, so the next daemon does not believe in them.
 */
async function clearStoppedDaemon(
  paths: DaemonPaths,
  env: NodeJS.ProcessEnv,
  all: boolean,
): Promise<IndexCleared | null> {
  const index = await clearStoppedIndex(paths);
  if (!existsSync(paths.index)) return index;
  const session = new Session({
    ...daemonSessionOptions(paths, env),
    cacheBytes: Number.MAX_SAFE_INTEGER,
    reconcile: "never",
  });
  try {
    await (await session.blockCache()).clear({ all });
  } finally {
    await session.close();
  }
  return index;
}

/**
 * A stopped daemon's manifest index: no mount uses a version, so every one goes (a daemon
 * restoring its mounts indexes theirs again). A daemon starting meanwhile could find a
 * version it just opened gone: its reads then fail as on a damaged record and the next
 * mount indexes it again; no wrong byte is served.
 */
async function clearStoppedIndex(paths: DaemonPaths): Promise<IndexCleared | null> {
  if (!existsSync(paths.manifests)) return null;
  const index = ManifestIndex.open(paths.manifests);
  try {
    // Versions indexed before usage was recorded are listed too; what a killed daemon left half-written goes.
    for (const vid of index.survey().incomplete) await removeInBatches(index, vid);
    const done = await evictVersions(index, 0, new Set());
    return { dropped: done.dropped.length, usedBytes: done.usedBytes, fileBytes: index.fileBytes() };
  } finally {
    void index.close();
  }
}

export const cacheCommand = defineCommand({
  builder: (y) =>
    withRegistry(y)
      .positional("action", {
        choices: ["stats", "clear", "prefetch"] as const,
        demandOption: true,
        describe: "stats | clear | prefetch NAME [PREFIX]...",
      })
      .positional("name", {
        type: "string",
        describe: "Package to prefetch: ns/name[:tag][@hash], or a quilt+ URI whose &path= stands for PREFIX",
      })
      .positional("prefix", {
        type: "string",
        array: true,
        describe: "prefetch: only these keys or directories (e.g. train/ val/); default the whole package",
      })
      .option("concurrency", {
        type: "number",
        requiresArg: true,
        describe: `prefetch: files fetched at once (default ${DEFAULT_PREFETCH_FILES})`,
      })
      .option("all", {
        type: "boolean",
        default: false,
        describe:
          "clear: every block in the data directory, also those of other daemons sharing it (default: only this user's library and daemon blocks)",
      })
      .example("quilt cache prefetch ns/dataset:v1 val/", "fetch val/ into the cache before training")
      .example(
        "QUILT_CACHE_DATA_DIR=/efs/quilt quilt cache prefetch ns/dataset:v1 train/ val/ --json",
        "warm a data directory the GPU nodes' mounts share; run it again to resume (it fetches only what is missing)",
      )
      .example(
        "quilt cache stats --json",
        "size, limit and hit counts; the daemon's manifest index (held to $QUILT_INDEX_SIZE, default 4G) and its leftovers (versions without a header: never trusted, removed at the daemon's start)",
      )
      .example(
        "quilt cache clear",
        "this user's blocks, and the daemon's manifest index of versions no mount uses (indexed again at their next mount)",
      )
      .example(
        "quilt cache clear --all",
        "empty the data directory, blocks of other daemons sharing it included",
      ),
  async handler(args, ctx) {
    if (args.concurrency !== undefined && args.action !== "prefetch")
      throw new QuiltError("EUSAGE", `--concurrency is an option of prefetch, not of ${args.action}`, {
        hint: "quilt cache prefetch NAME [PREFIX]... --concurrency 16",
      });
    if (args.all && args.action !== "clear")
      throw new QuiltError("EUSAGE", `--all is an option of clear, not of ${args.action}`, {
        hint: "quilt cache clear --all",
      });
    if (args.action === "prefetch") return prefetch(ctx, args.name, args.prefix, args.concurrency);
    if (args.name !== undefined || (args.prefix ?? []).length > 0)
      throw new QuiltError("EUSAGE", `${args.action} takes no package name`, {
        hint: `quilt cache ${args.action}`,
      });
    const cache = await ctx.quilt.blockCache();
    const paths = daemonPaths();
    if (args.action === "clear") {
      // A running daemon clears through its own index first (it may share the data directory);
      // then this process's index and whatever files are left.
      const daemonRunning = (await pingDaemon(paths)) !== undefined;
      const all = args.all;
      const index = daemonRunning
        ? ((await new DaemonClient(paths.socket).request("cache-clear", { all })).index ?? null)
        : await clearStoppedDaemon(paths, ctx.quilt.env, all);
      await cache.clear({ all });
      const lines = [daemonRunning ? "Cache cleared (the daemon's too)" : "Cache cleared"];
      if (index)
        lines.push(
          `Manifest index: ${index.dropped} version(s) no mount uses dropped; ${formatBytes(index.usedBytes)} in use, file ${formatBytes(index.fileBytes)} (LMDB reuses the freed pages, it does not shrink the file)`,
        );
      ctx.print(lines, { cleared: true, daemon: daemonRunning, index });
      return;
    }
    const s = cache.stats();
    const daemon = (await pingDaemon(paths))
      ? await new DaemonClient(paths.socket).request("stats")
      : undefined;
    const lines = [
      `Cache: ${formatBytes(s.bytes)} of ${formatBytes(s.maxBytes)} in ${s.objects} objects (${s.blocks} blocks of ${formatBytes(s.blockSize)})`,
      `directory: ${ctx.quilt.cacheDir}`,
      `data directory: ${ctx.quilt.dataDir}`,
    ];
    if (daemon)
      lines.push(
        `Daemon cache: ${formatBytes(daemon.cache.bytes)} of ${formatBytes(daemon.cache.maxBytes)}, ${daemon.cache.hits} block hits, ${daemon.cache.misses} misses`,
      );
    // A stopped daemon's index is read from disk: what a killed one left shows there too.
    const index = daemon
      ? (daemon.index ?? null)
      : await stoppedIndexStats(paths.manifests, indexSizeBytes(ctx.quilt.env));
    if (index) lines.push(...indexStatsLines(index, daemon !== undefined));
    ctx.print(lines, {
      library: s,
      cacheDir: ctx.quilt.cacheDir,
      dataDir: ctx.quilt.dataDir,
      daemon: daemon?.cache ?? null,
      index,
    });
  },
});

/**
 * Fills the data directory with the entries under the prefixes, several files at once,
 * verified, and says how much was fetched and how much was there already (a re-run fetches
 * only what is missing). An entry that fails is reported and the others go on; the exit
 * status is then that of the first failure.
 */
async function prefetch(
  ctx: CommandContext,
  name: string | undefined,
  prefix: string[] | undefined,
  concurrency: number | undefined,
): Promise<void> {
  if (!name)
    throw new QuiltError("EUSAGE", "prefetch needs a package name", {
      hint: "quilt cache prefetch NAME [PREFIX]...",
    });
  if (
    concurrency !== undefined &&
    !(Number.isSafeInteger(concurrency) && concurrency >= 1 && concurrency <= 256)
  ) {
    throw new QuiltError("EUSAGE", `Invalid --concurrency ${String(concurrency)}`, {
      hint: "give a number of files between 1 and 256, e.g. --concurrency 16",
    });
  }
  const { pkg, path } = await openPackageAt(ctx, name, prefix, "PREFIX");
  const prefixes = path !== undefined ? [path] : (prefix ?? []);
  const progress = ctx.progress("Prefetching");
  const r = await pkg.cache(prefixes, {
    keepGoing: true,
    ...(concurrency !== undefined && { concurrency }),
    onProgress: progress.onTransfer,
  });
  progress.finish();
  const where = prefixes.length > 0 ? ` under ${prefixes.join(", ")}` : "";
  const lines = [
    `Cached ${r.entries - r.errors.length} of ${r.entries} files (${formatBytes(r.bytes)}) of ${pkg.label}${where} in ${ctx.quilt.dataDir}`,
    `fetched ${formatBytes(r.bytesFetched)}; already cached: ${r.entriesCached} files (${formatBytes(r.bytesCached)})`,
  ];
  ctx.print(lines, {
    ...versionJson(pkg),
    prefixes,
    dataDir: ctx.quilt.dataDir,
    entries: r.entries,
    bytes: r.bytes,
    bytesFetched: r.bytesFetched,
    entriesCached: r.entriesCached,
    bytesCached: r.bytesCached,
    errors: r.errors,
  });
  const first = r.errors[0];
  if (first === undefined) return;
  if (!ctx.globals.json) {
    for (const e of r.errors) ctx.io.err(`Error: could not cache ${quoted(e.logicalKey)}: ${e.message}\n`);
    ctx.io.err(
      `hint: ${r.errors.length} file(s) failed; run the same command again to fetch only what is missing\n`,
    );
  }
  ctx.exitCode = exitCodeFor(first.code);
}
