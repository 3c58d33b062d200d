// `quilt mv FROM TO`: renames inside the workspace's package, nothing is copied. A
// directory moves with everything under it (refused on the first collision unless
// --overwrite, changing nothing); a single entry is renamed (into TO when TO ends in "/").
import { posix } from "node:path";
import { QuiltError } from "../errors.js";
import { parseLogicalKey } from "../manifest/logical-key.js";
import { changeWorkspace } from "./builder-shared.js";
import { defineCommand } from "./command.js";
import type { Workspace } from "./workspace.js";
import { quoted } from "../untrusted-text.js";

/** Renames one entry; the builder has no method for that, so it is done on its state. */
function moveEntry(ws: Workspace, from: string, toArg: string, overwrite: boolean): string {
  const to = parseLogicalKey(toArg.endsWith("/") ? toArg + posix.basename(from) : toArg);
  if (to === from) return to;
  const snap = ws.builder.toState();
  for (const e of snap.entries) {
    const k = e.logicalKey;
    if (k === from) continue;
    if (k.startsWith(to + "/") || to.startsWith(k + "/")) {
      throw new QuiltError(
        "EUSAGE",
        `Cannot move ${quoted(from)} to ${quoted(to)}: ${quoted(k)} is in the way (a path cannot be both a file and a directory)`,
      );
    }
    if (k === to && !overwrite) {
      throw new QuiltError(
        "EUSAGE",
        `Collision detected. moving ${quoted(from)} to ${quoted(to)}, but ${quoted(to)} already exists.`,
        { hint: `use --overwrite to replace ${quoted(to)} with ${quoted(from)}` },
      );
    }
  }
  const entries = snap.entries
    .filter((e) => e.logicalKey !== to)
    .map((e) => (e.logicalKey === from ? { ...e, logicalKey: to } : e));
  ws.replaceBuilder({ ...snap, entries, built: undefined, pushed: undefined });
  return to;
}

/**
 * moveDirContents does not check that a moved key and a staying one are not a file and a
 * directory of each other ("a" and "a/x"), which would only fail at build time.
 */
function checkNoFileDirClash(all: string[], moving: string[], from: string, toArg: string): void {
  const to = toArg === "" || toArg === "/" ? "" : toArg.endsWith("/") ? toArg : toArg + "/";
  const moved = new Set(moving);
  const staying = all.filter((k) => !moved.has(k));
  const stayingSet = new Set(staying);
  for (const k of moving) {
    const dest = to + k.slice(from.length);
    const parts = dest.split("/");
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join("/");
      if (stayingSet.has(parent))
        throw new QuiltError(
          "EUSAGE",
          `Cannot move ${quoted(k)} to ${quoted(dest)}: ${quoted(parent)} is a file (a path cannot be both a file and a directory)`,
        );
    }
    const clash = staying.find((s) => s.startsWith(dest + "/"));
    if (clash !== undefined)
      throw new QuiltError(
        "EUSAGE",
        `Cannot move ${quoted(k)} to ${quoted(dest)}: ${quoted(clash)} is under it (a path cannot be both a file and a directory)`,
      );
  }
}

export const mvCommand = defineCommand({
  builder: (y) =>
    y
      .positional("from", {
        type: "string",
        demandOption: true,
        describe: "A directory (data/) or an entry's logical key",
      })
      .positional("to", {
        type: "string",
        demandOption: true,
        describe: 'The new directory or key (an entry moves into TO when TO ends in "/")',
      })
      .option("overwrite", {
        type: "boolean",
        default: false,
        describe: "Replace entries already at the destination",
      })
      .example("quilt mv val2017/ validation/", "rename a directory")
      .example("quilt mv notes.txt docs/", "move an entry into docs/"),
  async handler(args, ctx) {
    await changeWorkspace(ctx, async (ws) => {
      const b = ws.builder;
      const before = b.size;
      if (!args.from.endsWith("/") && b.keys().includes(args.from)) {
        const to = moveEntry(ws, args.from, args.to, args.overwrite);
        ctx.print(`Moved ${args.from} to ${to}`, { name: b.name, from: args.from, to, moved: 1 });
        return;
      }
      const under = args.from.endsWith("/") || args.from === "" ? args.from : args.from + "/";
      const moving = b.keys().filter((k) => k.startsWith(under));
      const moved = moving.length;
      checkNoFileDirClash(b.keys(), moving, under, args.to);
      b.moveDirContents(args.from, args.to, { overwrite: args.overwrite });
      const replaced = before - b.size;
      const note = replaced > 0 ? ` (${replaced} replaced)` : "";
      ctx.print(
        `Moved ${moved} entr${moved === 1 ? "y" : "ies"} from ${under} to ${args.to.endsWith("/") ? args.to : args.to + "/"}${note}`,
        {
          name: b.name,
          from: under,
          to: args.to,
          moved,
          replaced,
        },
      );
    });
  },
});
