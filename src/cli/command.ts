// One command of the `quilt` command line: its yargs options and handler in one object, and
// the line that lists it (command-list.ts). `defineCommand` ties the handler's argument type
// to the builder: yargs infers from each .positional() and .option() what the parsed value
// is (string, string | undefined, a choice's union, camelCase aliases of dashed names), so a
// handler cannot read an option its builder does not declare, nor with another type, and no
// command restates its arguments in an interface of its own.
//
// A command's module is imported only when yargs picks that command (its builder is async):
// `quilt --help`, a usage error or `quilt mounts` must not pay for the AWS SDK, LMDB or the
// library that other commands import (docs/BENCHMARKS.md, "Command start").
import type { Argv, ArgumentsCamelCase } from "yargs";
import type { CommandContext } from "./context.js";

export interface CommandSpec<A> {
  /** Declares the positionals and options (their help text with them), examples and epilogue. */
  builder: (y: Argv) => Argv<A>;
  /** Runs the command; its status is ctx.exitCode, or that of the error it throws. */
  handler: (args: ArgumentsCamelCase<A>, ctx: CommandContext) => Promise<void>;
  /**
   * false for a handler that never reads ctx.quilt: the library's session (S3 client, block
   * cache, LMDB) is then not even imported, so the daemon's commands start fast.
   */
  session?: false;
}

/** A command's options and handler, whose argument type is known only inside it: what an entry loads. */
export interface CommandBody {
  readonly session: boolean;
  build(parser: Argv): Argv<unknown>;
  run(args: ArgumentsCamelCase, ctx: CommandContext): Promise<void>;
}

/** One line of `quilt --help`, and where the rest of the command is. */
export interface CommandEntry {
  /** yargs' usage of the command: "name <required> [optional] [repeated..]". */
  command: string;
  /** One line for `quilt --help` and the top of `quilt <command> --help`. */
  describe: string;
  load: () => Promise<CommandBody>;
}

export function defineCommand<A>(spec: CommandSpec<A>): CommandBody {
  return {
    session: spec.session !== false,
    build: (parser) => spec.builder(parser),
    // yargs parsed `args` with the options spec.builder declared: they are an A.
    run: (args, ctx) => spec.handler(args as ArgumentsCamelCase<A>, ctx),
  };
}

/** Adds the command to the parser; its module is imported when yargs runs its builder, before the handler. */
export function registerCommand<T>(parser: Argv<T>, entry: CommandEntry, ctx: CommandContext): Argv<T> {
  let body: CommandBody | undefined;
  return parser.command(
    entry.command,
    entry.describe,
    async (y) => {
      body = await entry.load();
      return body.build(y);
    },
    async (args) => {
      if (body === undefined) throw new Error(`quilt ${entry.command}: handler before builder`);
      if (body.session) await ctx.loadSession();
      await body.run(args, ctx);
    },
  );
}
