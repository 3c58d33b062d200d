// `quilt daemon start|stop|status|run`: the process that holds mounts and the shared cache.
// `run` is the daemon itself (foreground); `start` runs it detached.
import type { Argv } from "yargs";
import { indexStatsLines, namesStatsLine } from "./index-stats.js";
import { cacheSizeBytes, indexSizeBytes, indexThreads, parseSize, s3Timeouts } from "../config.js";
import { QuiltError } from "../errors.js";
import { DaemonClient } from "../daemon/client.js";
import {
  ensureDaemon,
  pingDaemon,
  waitForDaemon,
  removePidFile,
  stopDaemon,
  writePidFile,
} from "../daemon/lifecycle.js";
import { daemonPaths } from "../daemon/paths.js";
import { forgetShellContext } from "../daemon/s3-context.js";
import { configureLogging, log } from "../log.js";
import { defineCommand } from "./command.js";
import { formatBytes } from "./progress.js";

export function cacheOptions<T>(y: Argv<T>) {
  return y
    .option("cache-dir", {
      type: "string",
      requiresArg: true,
      describe:
        "Data directory of the block cache (may be on a shared filesystem); default $QUILT_CACHE_DATA_DIR or ~/.cache/quilt-ts/data",
    })
    .option("cache-size", {
      type: "string",
      requiresArg: true,
      describe: "Cache size limit, e.g. 50G (default $QUILT_CACHE_SIZE or 10G)",
    });
}

/**
 * The daemon's command line for these options, checked here first: a bad value is the
 * caller's usage error (exit 2, naming it), not a daemon that "did not start".
 */
export function daemonArgs(args: { cacheDir?: string; cacheSize?: string }): string[] {
  if (cacheBytes(args.cacheSize) === undefined) cacheSizeBytes(process.env);
  s3Timeouts(process.env);
  indexSizeBytes(process.env);
  indexThreads(process.env);
  return [
    ...(args.cacheDir ? ["--cache-dir", args.cacheDir] : []),
    ...(args.cacheSize ? ["--cache-size", args.cacheSize] : []),
  ];
}

function cacheBytes(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = parseSize(text);
  if (n === undefined)
    throw new QuiltError("EUSAGE", `Invalid cache size ${JSON.stringify(text)}`, {
      hint: "use a size like 500M, 50G or 1T",
    });
  return n;
}

export const daemonCommand = defineCommand({
  session: false,
  builder: (y) =>
    cacheOptions(
      y.positional("action", {
        choices: ["start", "stop", "status", "run"] as const,
        demandOption: true,
        describe: "run = in the foreground (what start runs)",
      }),
    )
      .option("wait", {
        type: "number",
        requiresArg: true,
        describe:
          "status: wait up to this many seconds for the daemon to answer and finish remounting what a crashed daemon held (a service's readiness check)",
      })
      .example(
        "quilt daemon status",
        "is it running, with how many mounts, its cache and manifest index (and that index's leftovers it is removing, if any)",
      )
      .example(
        "quilt daemon status --wait 120",
        "after `quilt daemon run` was started (systemd's ExecStartPost): exit 0 once it serves its mounts",
      )
      .example(
        "quilt daemon stop",
        "unmount everything and stop (a daemon that does not within 30 s is killed and its mounts detached)",
      )
      .epilog(
        "The daemon takes no registry, S3 endpoint, region or profile from the environment it was started in: " +
          "each `quilt mount` sends those of its own shell, and a restarted daemon remounts each mount with its own. " +
          "Its environment still gives its cache settings and its own AWS credentials.",
      ),
  async handler(args, ctx) {
    const paths = daemonPaths(process.env, args.cacheDir);
    if (args.action === "run") return runDaemon(paths, cacheBytes(args.cacheSize));
    if (args.action === "start") {
      const { info, started } = await ensureDaemon(paths, process.env, daemonArgs(args));
      ctx.print(started ? `Daemon started (pid ${info.pid})` : `Daemon already running (pid ${info.pid})`, {
        ...info,
        started,
      });
      return;
    }
    if (args.action === "stop") {
      const stopped = await stopDaemon(paths);
      ctx.print(stopped ? "Daemon stopped" : "Daemon was not running", { stopped });
      return;
    }
    if (args.wait !== undefined && !(args.wait >= 0))
      throw new QuiltError("EUSAGE", `Invalid --wait ${String(args.wait)}`, {
        hint: "a number of seconds, e.g. --wait 120",
      });
    const info =
      args.wait !== undefined ? await waitForDaemon(paths, args.wait * 1000) : await pingDaemon(paths);
    if (!info) {
      // With --wait, a daemon may answer yet still be remounting: not ready is not "not running".
      const starting = args.wait !== undefined ? await pingDaemon(paths) : undefined;
      ctx.print(
        [
          starting
            ? `Daemon: running (pid ${starting.pid}) but still remounting after ${args.wait} s`
            : "Daemon: not running",
          `log: ${paths.log}`,
        ],
        { running: starting !== undefined, ready: false, log: paths.log },
      );
      ctx.exitCode = 1;
      return;
    }
    const stats = await new DaemonClient(paths.socket).request("stats");
    ctx.print(
      [
        `Daemon: running (pid ${info.pid}, since ${info.startedAt})`,
        `Mounts: ${info.mounts}`,
        `Cache: ${formatBytes(stats.cache.bytes)} of ${formatBytes(stats.cache.maxBytes)}, ${stats.cache.hits} block hits, ${stats.cache.misses} misses`,
        ...(stats.index ? indexStatsLines(stats.index) : []),
        ...(stats.names ? [namesStatsLine(stats.names)] : []),
        `S3 requests: ${Object.entries(stats.requests.s3)
          .map(([k, v]) => `${k} ${v}`)
          .join(", ")}`,
        `Local registry reads: ${Object.entries(stats.requests.local)
          .map(([k, v]) => `${k} ${v}`)
          .join(", ")}`,
        `socket: ${paths.socket}`,
        `log: ${paths.log}`,
      ],
      { running: true, ...info, ...stats, socket: paths.socket, log: paths.log },
    );
  },
});

/** The daemon process: serves until SIGTERM/SIGINT or a shutdown request. */
async function runDaemon(paths: ReturnType<typeof daemonPaths>, bytes: number | undefined): Promise<void> {
  if (await pingDaemon(paths))
    throw new QuiltError("EBUSY", "A daemon is already running", { hint: "quilt daemon status" });
  configureLogging({ file: paths.log });
  // Every mount request brings its registry and S3 context; the shell that started this
  // process must not steer the SDK for mounts requested from other shells.
  const env = { ...process.env };
  forgetShellContext(process.env);
  // The pid file is written once this process holds the socket: a daemon that lost a start
  // race must not overwrite the winner's.
  // Imported here, not at the top: start, stop and status only talk to the socket.
  const { Daemon } = await import("../daemon/daemon.js");
  const daemon = await Daemon.start({
    paths,
    env,
    ...(bytes !== undefined && { cacheBytes: bytes }),
    onListening: () => writePidFile(paths),
  });
  const stop = (signal: string) => {
    log().info({ signal }, "signal: shutting down");
    void daemon.close();
  };
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.removeAllListeners("SIGINT"); // the CLI's "interrupted" exit (bin/quilt.js) is not for the daemon
  process.once("SIGINT", () => stop("SIGINT"));
  await daemon.stopped;
  await removePidFile(paths);
}
