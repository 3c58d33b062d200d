// One command of the `quilt` command line: its yargs usage, help text, options and
// handler, in one object. `defineCommand` ties the handler's argument type to the builder:
// yargs infers from each .positional() and .option() what the parsed value is (string,
// string | undefined, a choice's union, camelCase aliases of dashed names), so a handler
// cannot read an option its builder does not declare, nor with another type, and no
// command restates its arguments in an interface of its own.
import type { Argv, ArgumentsCamelCase } from "yargs";
import type { CommandContext } from "./context.js";

export interface CommandSpec<A> {
  /** yargs' usage of the command: "name <required> [optional] [repeated..]". */
  command: string;
  /** One line for `quilt --help` and the top of `quilt <command> --help`. */
  describe: string;
  /** Declares the positionals and options (their help text with them), examples and epilogue. */
  builder: (y: Argv) => Argv<A>;
  /** Runs the command; its status is ctx.exitCode, or that of the error it throws. */
  handler: (args: ArgumentsCamelCase<A>, ctx: CommandContext) => Promise<void>;
}

/** A command whose argument type is known only inside it: what main.ts lists and registers. */
export interface Command {
  readonly command: string;
  readonly describe: string;
  /** Adds the command to the parser, its handler running with `ctx`. */
  register<T>(parser: Argv<T>, ctx: CommandContext): Argv<T>;
}

export function defineCommand<A>(spec: CommandSpec<A>): Command {
  return {
    command: spec.command,
    describe: spec.describe,
    register: (parser, ctx) =>
      parser.command(spec.command, spec.describe, spec.builder, (args) => spec.handler(args, ctx)),
  };
}
