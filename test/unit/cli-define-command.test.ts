// defineCommand: a handler's arguments are what its builder declares, as yargs parsed them.
// The types are checked by `tsc -p tsconfig.test.json` (scripts/test.sh): expectTypeOf and
// the @ts-expect-error lines fail the type-check if inference is lost (an `any` or `unknown`
// handler argument would make a misspelled option compile); the runtime half checks what
// the handler receives and that it runs with the context it was registered with.
import yargs from "yargs";
import { describe, expect, expectTypeOf, it } from "vitest";
import { defineCommand, registerCommand, type CommandBody } from "../../src/cli/command.js";
import { CommandContext, type Io } from "../../src/cli/context.js";
import { isQuiltError } from "../../src/errors.js";
import { withRegistry } from "../../src/cli/registry-option.js";

const io: Io = { out: () => {}, err: () => {}, outBytes: () => {}, isTty: false };

describe("defineCommand", () => {
  it("gives the handler the parsed positionals and options, typed from the builder, with camelCase names", async () => {
    const seen: unknown[] = [];
    const ctx = new CommandContext(io, {});
    const cmd = defineCommand({
      builder: (y) =>
        withRegistry(y)
          .positional("name", { type: "string", demandOption: true })
          .positional("extra", { type: "string", array: true })
          .option("cached-only", { type: "boolean", default: false })
          .option("mode", { choices: ["fast", "safe"] as const, default: "safe" as const })
          .option("limit", { type: "number" }),
      async handler(args, c) {
        expectTypeOf(args.name).toEqualTypeOf<string>();
        expectTypeOf(args.extra).toEqualTypeOf<string[] | undefined>();
        expectTypeOf(args.cachedOnly).toEqualTypeOf<boolean>();
        expectTypeOf(args.mode).toEqualTypeOf<"fast" | "safe">();
        expectTypeOf(args.limit).toEqualTypeOf<number | undefined>();
        expectTypeOf(args.registry).toEqualTypeOf<string | undefined>();
        // @ts-expect-error: an option the builder does not declare is unknown, not a string.
        const undeclared: string = args.cachedonly;
        void undeclared;
        // @ts-expect-error: nor with another type than the declared one.
        const wrong: number = args.name;
        void wrong;
        seen.push(args.name, args.extra, args.cachedOnly, args.mode, args.limit, args.registry, c === ctx);
      },
    });
    const entry = { command: "probe <name> [extra..]", describe: "a probe", load: async () => cmd };
    const parser = registerCommand(yargs().strict().exitProcess(false), entry, ctx);
    await parser.parseAsync(["probe", "ns/x", "a/", "b/", "--cached-only", "--mode", "fast", "--limit", "3"]);
    expect(seen).toEqual(["ns/x", ["a/", "b/"], true, "fast", 3, undefined, true]);
  });

  it("runs only the command named, loading only its module, and yargs refuses what the builder does not declare", async () => {
    const ran: string[] = [];
    const loaded: string[] = [];
    const ctx = new CommandContext(io, {});
    const one = defineCommand({
      builder: (y) => y,
      handler: async () => void ran.push("one"),
    });
    const two = defineCommand({
      builder: (y) => y.option("flag", { type: "boolean", default: false }),
      handler: async (args) => void ran.push(`two ${args.flag}`),
    });
    const entry = (command: string, body: CommandBody) => ({
      command,
      describe: command,
      load: async () => (loaded.push(command), body),
    });
    const parser = () =>
      registerCommand(
        registerCommand(yargs().strict().exitProcess(false).fail(false), entry("one", one), ctx),
        entry("two", two),
        ctx,
      );
    await parser().parseAsync(["two", "--flag"]);
    expect(ran).toEqual(["two true"]);
    expect(loaded).toEqual(["two"]);
    // yargs throws validation errors synchronously from parseAsync.
    await expect(async () => parser().parseAsync(["one", "--flag"])).rejects.toThrow(
      /Unknown argument: flag/,
    );
    expect(ran).toEqual(["two true"]);
  });

  it("gives a handler the library's session unless it is defined with session: false", async () => {
    const ctx = new CommandContext(io, {});
    const seen: string[] = [];
    const light = defineCommand({
      builder: (y) => y,
      session: false,
      handler: async (_args, c) => {
        const err: unknown = await Promise.resolve()
          .then(() => c.quilt)
          .catch((e: unknown) => e);
        seen.push(isQuiltError(err) ? err.code : "a session");
      },
    });
    const full = defineCommand({
      builder: (y) => y,
      handler: async (_args, c) => void seen.push(c.quilt.constructor.name),
    });
    const parser = registerCommand(
      registerCommand(
        yargs().strict().exitProcess(false),
        { command: "light", describe: "", load: async () => light },
        ctx,
      ),
      { command: "full", describe: "", load: async () => full },
      ctx,
    );
    await parser.parseAsync(["light"]);
    await parser.parseAsync(["full"]);
    await ctx.close();
    expect(seen).toEqual(["EINTERNAL", "Session"]);
  });
});
