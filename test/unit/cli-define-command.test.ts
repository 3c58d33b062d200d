// defineCommand: a handler's arguments are what its builder declares, as yargs parsed them.
// The types are checked by `tsc -p tsconfig.test.json` (scripts/test.sh): expectTypeOf and
// the @ts-expect-error lines fail the type-check if inference is lost (an `any` or `unknown`
// handler argument would make a misspelled option compile); the runtime half checks what
// the handler receives and that it runs with the context it was registered with.
import yargs from "yargs";
import { describe, expect, expectTypeOf, it } from "vitest";
import { defineCommand } from "../../src/cli/command.js";
import { CommandContext, type Io } from "../../src/cli/context.js";
import { withRegistry } from "../../src/cli/shared.js";

const io: Io = { out: () => {}, err: () => {}, outBytes: () => {}, isTty: false };

describe("defineCommand", () => {
  it("gives the handler the parsed positionals and options, typed from the builder, with camelCase names", async () => {
    const seen: unknown[] = [];
    const ctx = new CommandContext(io, {});
    const cmd = defineCommand({
      command: "probe <name> [extra..]",
      describe: "a probe",
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
    expect(cmd.command).toBe("probe <name> [extra..]");
    const parser = cmd.register(yargs().strict().exitProcess(false), ctx);
    await parser.parseAsync(["probe", "ns/x", "a/", "b/", "--cached-only", "--mode", "fast", "--limit", "3"]);
    expect(seen).toEqual(["ns/x", ["a/", "b/"], true, "fast", 3, undefined, true]);
  });

  it("runs only the command named, and yargs refuses what the builder does not declare", async () => {
    const ran: string[] = [];
    const ctx = new CommandContext(io, {});
    const one = defineCommand({
      command: "one",
      describe: "first",
      builder: (y) => y,
      handler: async () => void ran.push("one"),
    });
    const two = defineCommand({
      command: "two",
      describe: "second",
      builder: (y) => y.option("flag", { type: "boolean", default: false }),
      handler: async (args) => void ran.push(`two ${args.flag}`),
    });
    const parser = () =>
      two.register(one.register(yargs().strict().exitProcess(false).fail(false), ctx), ctx);
    await parser().parseAsync(["two", "--flag"]);
    expect(ran).toEqual(["two true"]);
    // yargs throws validation errors synchronously from parseAsync.
    await expect(async () => parser().parseAsync(["one", "--flag"])).rejects.toThrow(
      /Unknown argument: flag/,
    );
    expect(ran).toEqual(["two true"]);
  });
});
