// The `quilt` command line: yargs parses, one module per command runs, and every failure
// becomes `Error: <what happened>` plus a `hint:` line and a stable exit status (see
// exit-codes.ts). Stack traces only with --verbose.
import yargs from "yargs";
import { QuiltError } from "../errors.js";
import { asQuiltError } from "../os-errors.js";
import { untrusted } from "../untrusted-text.js";
import { shutdown } from "../shutdown.js";
import { configureLogging, flushLogging, log } from "../log.js";
import { stateDir } from "../config.js";
import { join } from "node:path";
import { CommandContext, processIo, type Io } from "./context.js";
import { registerCommand } from "./command.js";
import { EXIT_OK, EXIT_USAGE, exitCodeFor, exitStatusHelp } from "./exit-codes.js";
import { COMMANDS } from "./command-list.js";

/**
 * The printer's last bound on what a message line may show: the parts quoting untrusted text
 * are bounded where they are quoted (src/untrusted-text.ts); this keeps a message that
 * quotes several within a screen and escapes any control character that slipped through.
 */
const MESSAGE_MAX_CHARS = 2000;
const HINT_MAX_CHARS = 1000;

/** Line by line: a message may list things on lines of their own (EAMBIGUOUS does). */
function printable(text: string, max: number): string {
  return text
    .split("\n")
    .map((line) => untrusted(line, max))
    .join("\n");
}

class UsageError extends Error {
  constructor(
    message: string,
    readonly usage: string,
  ) {
    super(message);
  }
}

function describeError(
  err: unknown,
  verbose: boolean,
  logFile: string | undefined,
): { text: string; code: number } {
  const bugHint = `this is a bug in quilt: please report it with the log${logFile ? ` at ${logFile}` : ""} (--verbose adds the stack trace)`;
  const e = asQuiltError(err, bugHint);
  const hint = e.hint ? `hint: ${printable(e.hint, HINT_MAX_CHARS)}\n` : "";
  const stack = verbose ? ((err instanceof Error ? err.stack : undefined) ?? e.stack) : undefined;
  return {
    text: `Error: ${printable(e.message, MESSAGE_MAX_CHARS)}\n${hint}${stack ? stack + "\n" : ""}`,
    code: exitCodeFor(e.code),
  };
}

/**
 * What Ctrl-C prints and the status it exits with (the caller exits): the same printer and
 * table as any error, so an interrupted command says so instead of vanishing. Files an
 * interrupted install left are cleaned up by the next one.
 */
export function interrupted(io: Io = processIo): number {
  const { text, code } = describeError(
    new QuiltError("EABORTED", "Interrupted (Ctrl-C)", {
      hint: "run the command again (an install resumes from the files already in place)",
    }),
    false,
    undefined,
  );
  io.err(text);
  return code;
}

export async function main(
  argv: string[],
  io: Io = processIo,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const ctx = new CommandContext(io, env);
  const verbose = argv.includes("--verbose") || argv.includes("-v");
  const logFile = env.QUILT_NO_LOG_FILE !== "1" ? join(stateDir(env), "logs", "cli.log") : undefined;
  if (logFile !== undefined)
    configureLogging({ file: logFile, level: verbose ? "debug" : env.QUILT_LOG_LEVEL });
  log().debug({ argv }, "command");
  let parser = yargs(argv)
    .scriptName("quilt")
    .usage(
      "$0 <command> [options]\n\nQuilt data packages: versioned, hash-identified datasets in S3 or a local registry.",
    )
    .option("verbose", {
      alias: "v",
      type: "boolean",
      default: false,
      describe: "Log more and show stack traces on errors",
      global: true,
    })
    .option("json", {
      type: "boolean",
      default: false,
      describe: "Print one JSON document on stdout instead of text",
      global: true,
    })
    .middleware((args) => {
      ctx.globals = {
        verbose: Boolean(args.verbose),
        json: Boolean(args.json),
        ...(typeof args.registry === "string" && { registry: args.registry }),
      };
    })
    .completion(
      "completion",
      "Print a bash/zsh completion script (add `source <(quilt completion)` to your shell rc)",
    )
    .strict()
    .demandCommand(1, "Give a command")
    .recommendCommands()
    .help()
    .alias("help", "h")
    .version(false)
    .epilogue(exitStatusHelp())
    .wrap(Math.min(100, process.stdout.columns || 100))
    .exitProcess(false)
    .fail((msg, err, y) => {
      // yargs' own parse errors ("Not enough arguments following: tag") are usage errors too.
      // So is a .check() that answers with a message: yargs passes that string as `err`.
      if (err instanceof Error && err.name !== "YError") throw err;
      msg = msg ?? err?.message ?? "bad usage";
      let help = "";
      y.showHelp((text: string) => {
        help = text;
      });
      throw new UsageError(msg, help);
    });
  for (const entry of COMMANDS) parser = registerCommand(parser, entry, ctx);
  let helpShown = false;
  try {
    await parser.parseAsync(argv, {}, (err, _args, output) => {
      if (output && !err) {
        helpShown = true;
        io.out(output + "\n");
      }
    });
    return helpShown ? EXIT_OK : ctx.exitCode;
  } catch (err) {
    if (err instanceof UsageError) {
      const usage = err.usage.split("\n")[0] ?? "";
      io.err(
        `${usage ? `Usage: ${usage}\n` : ""}Error: ${err.message}\nhint: run \`quilt --help\` or \`quilt <command> --help\` for usage\n`,
      );
      return EXIT_USAGE;
    }
    const { text, code } = describeError(err, verbose, logFile);
    log().error({ err }, "command failed");
    io.err(text);
    return code;
  } finally {
    await ctx.close();
    await shutdown();
    flushLogging();
  }
}
