// The `quilt` command line: yargs parses, one module per command runs, and every failure
// becomes `Error: <what happened>` plus a `hint:` line and a stable exit status (see
// exit-codes.ts). Stack traces only with --verbose.
import yargs, { type Argv } from "yargs";
import { QuiltError, errnoCode } from "../errors.js";
import { closeHashPool } from "../manifest/hash-pool.js";
import { configureLogging, flushLogging, log } from "../log.js";
import { stateDir } from "../config.js";
import { join } from "node:path";
import { CommandContext, processIo, type Io } from "./context.js";
import { EXIT_ERROR, EXIT_OK, EXIT_USAGE, exitCodeFor } from "./exit-codes.js";
import { hashCommand } from "./hash-command.js";

export interface CommandModule<A> {
  command: string | string[];
  describe: string;
  builder: (y: Argv) => Argv<unknown>;
  run(args: A, ctx: CommandContext): Promise<void>;
}

const COMMANDS: CommandModule<never>[] = [hashCommand as CommandModule<never>];

class UsageError extends Error {
  constructor(
    message: string,
    readonly usage: string,
  ) {
    super(message);
  }
}

function describeError(err: unknown, verbose: boolean): { text: string; code: number } {
  if (err instanceof QuiltError) {
    const hint = err.hint ? `hint: ${err.hint}\n` : "";
    return { text: `Error: ${err.message}\n${hint}${verbose && err.stack ? err.stack + "\n" : ""}`, code: exitCodeFor(err.code) };
  }
  const code = errnoCode(err);
  if (code === "ENOENT" || code === "EACCES" || code === "EISDIR" || code === "ENOTDIR") {
    // Node's own message already names the path: "ENOENT: no such file or directory, open 'x'".
    return { text: `Error: ${(err as Error).message}\nhint: check the path and its permissions\n`, code: EXIT_ERROR };
  }
  const e = err as Error;
  return { text: `Error: ${e?.message ?? String(err)}\n${verbose && e?.stack ? e.stack + "\n" : "hint: run again with --verbose for details\n"}`, code: EXIT_ERROR };
}

export async function main(argv: string[], io: Io = processIo, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const ctx = new CommandContext(io, env);
  const verbose = argv.includes("--verbose") || argv.includes("-v");
  if (env.QUILT_NO_LOG_FILE !== "1") {
    configureLogging({ file: join(stateDir(env), "logs", "cli.log"), level: verbose ? "debug" : env.QUILT_LOG_LEVEL });
  }
  log().debug({ argv }, "command");
  let parser = yargs(argv)
    .scriptName("quilt")
    .usage("$0 <command> [options]\n\nQuilt data packages: versioned, hash-identified datasets in S3 or a local registry.")
    .option("verbose", { alias: "v", type: "boolean", default: false, describe: "Log more and show stack traces on errors", global: true })
    .option("json", { type: "boolean", default: false, describe: "Print one JSON document on stdout instead of text", global: true })
    .middleware((args) => {
      ctx.globals = { verbose: Boolean(args.verbose), json: Boolean(args.json), ...(typeof args.registry === "string" && { registry: args.registry }) };
    })
    .completion("completion", "Print a bash/zsh completion script (add `source <(quilt completion)` to your shell rc)")
    .strict()
    .demandCommand(1, "Give a command")
    .recommendCommands()
    .help()
    .alias("help", "h")
    .version(false)
    .wrap(Math.min(100, process.stdout.columns || 100))
    .exitProcess(false)
    .fail((msg, err, y) => {
      if (err) throw err;
      let help = "";
      y.showHelp((text: string) => {
        help = text;
      });
      throw new UsageError(msg, help);
    });
  for (const cmd of COMMANDS) {
    parser = parser.command(cmd.command, cmd.describe, cmd.builder, async (args) => cmd.run(args as never, ctx));
  }
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
      io.err(`${usage ? `Usage: ${usage}\n` : ""}Error: ${err.message}\nhint: run \`quilt --help\` or \`quilt <command> --help\` for usage\n`);
      return EXIT_USAGE;
    }
    const { text, code } = describeError(err, verbose);
    log().error({ err }, "command failed");
    io.err(text);
    return code;
  } finally {
    await ctx.close();
    await closeHashPool();
    flushLogging();
  }
}
