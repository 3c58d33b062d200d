// `quilt add`: puts a local file or directory, or an S3 object or prefix, into the
// workspace's package. Two spellings, as in the use cases:
//   quilt add PATH [LOGICAL]      PATH goes in under LOGICAL (default: where it sits in
//                                 the workspace, e.g. data/train/; from outside, its own name)
//   quilt add LOGICAL/ SOURCE     SOURCE (s3:// URL or local path) goes in as LOGICAL/
// The second form is chosen when the first argument ends with "/", is not an s3:// URL,
// and the second argument is an s3:// URL or an existing path; otherwise the first.
import { existsSync } from "node:fs";
import { lstat } from "node:fs/promises";
import { basename, resolve } from "node:path";
import { defaultPrefix } from "../api/builder-sources.js";
import { QuiltError } from "../errors.js";
import { PhysicalKey } from "../manifest/physical-key.js";
import { changeWorkspace } from "./builder-shared.js";
import { defineCommand } from "./command.js";
import { userPath } from "./workspace-display.js";

/** Which argument is the source and which the logical key (see the top of this file). */
export function addArguments(
  first: string,
  second: string | undefined,
  exists: (p: string) => boolean = (p) => existsSync(p),
): { source: string; logical: string | undefined } {
  if (second === undefined) return { source: first, logical: undefined };
  const secondIsSource = second.startsWith("s3://") || exists(resolve(second));
  if (!first.startsWith("s3://") && first.endsWith("/") && secondIsSource)
    return { source: second, logical: first };
  return { source: first, logical: second };
}

/** "", "." and "/" name the package root. */
function normalizeLogical(logical: string | undefined): string | undefined {
  return logical === undefined
    ? undefined
    : logical === "." || logical === "./" || logical === "/"
      ? ""
      : logical;
}

function asPrefix(p: string): string {
  return p === "" || p.endsWith("/") ? p : p + "/";
}

function showLocal(path: string, isDir: boolean): string {
  const shown = userPath(resolve(path));
  return isDir && !shown.endsWith("/") ? shown + "/" : shown;
}

function showPrefix(prefix: string): string {
  return prefix === "" ? "the top level" : prefix;
}

export const addCommand = defineCommand({
  builder: (y) =>
    y
      .positional("path", {
        type: "string",
        demandOption: true,
        describe:
          "What to add (local path or s3://bucket/key, s3://bucket/prefix/), or LOGICAL/ in the two-argument form",
      })
      .positional("logical", {
        type: "string",
        describe:
          'Where it goes in the package (default: its path in the workspace, or its own name when outside; "." for the top level), or SOURCE in the two-argument form',
      })
      .epilogue(
        "Two forms: `quilt add PATH [LOGICAL]`, and `quilt add LOGICAL/ SOURCE` as in `quilt add val2017/ s3://bucket/validation/`. " +
          'The second is chosen when the first argument ends with "/" (and is not an s3:// URL) and the second is an s3:// URL or an existing path. ' +
          "A directory's .quiltignore (gitignore syntax) is honoured; the workspace's own .quilt/ is never added.",
      )
      .example("quilt add train2017/", "add ./train2017/ as train2017/")
      .example(
        "quilt add val2017/ s3://otherbucket/abc/validation/",
        "add every object under the prefix as val2017/",
      )
      .example("quilt add test2017/ ../test2017/", "add a directory from elsewhere as test2017/")
      .example("quilt add notes.txt docs/", "add a file as docs/notes.txt"),
  async handler(args, ctx) {
    const { source, logical: rawLogical } = addArguments(args.path, args.logical);
    let logical = normalizeLogical(rawLogical);
    await changeWorkspace(ctx, async (ws) => {
      const b = ws.builder;
      let message: string;
      let inSource: (pk: PhysicalKey) => boolean;
      let under: string;
      if (source.startsWith("s3://")) {
        const pk = PhysicalKey.fromUrl(source);
        const isPrefix = pk.path === "" || pk.path.endsWith("/");
        const shown = `s3://${pk.bucket}/${pk.path}`;
        if (isPrefix) {
          under = logical === undefined ? defaultPrefix(source) : asPrefix(logical);
          message = `Adding objects in ${shown} to ${b.name} as ${showPrefix(under)}...`;
          inSource = (k) => k.bucket === pk.bucket && k.path.startsWith(pk.path);
        } else {
          const p = logical ?? "";
          under = p === "" || p.endsWith("/") ? p + basename(pk.path) : p;
          message = `Adding object ${shown} to ${b.name} as ${under}`;
          inSource = (k) => k.bucket === pk.bucket && k.path === pk.path;
        }
      } else {
        const abs = resolve(source);
        if (abs === ws.stateDir || abs.startsWith(ws.stateDir + "/")) {
          throw new QuiltError("EUSAGE", `${source} is the workspace's own state, not data`, {
            hint: "add your data files; .quilt/ is where quilt keeps the builder",
          });
        }
        const st = await lstat(abs).catch(() => undefined);
        if (st === undefined)
          throw new QuiltError("ENOTFOUND", `${source} does not exist`, {
            hint: "check the path (relative paths start from the current directory)",
          });
        // Inside the workspace, the package mirrors the directory layout by default.
        const inWorkspace =
          abs === ws.root || abs.startsWith(ws.root + "/") ? abs.slice(ws.root.length + 1) : undefined;
        if (logical === undefined && inWorkspace !== undefined)
          logical = st.isDirectory() ? asPrefix(inWorkspace) : inWorkspace;
        if (st.isDirectory()) {
          under = logical === undefined ? defaultPrefix(source) : asPrefix(logical);
          message = `Adding contents of directory ${showLocal(source, true)} to ${b.name} as ${showPrefix(under)}...`;
          inSource = (k) => k.isLocal() && k.path.startsWith(abs + "/");
        } else {
          const p = logical ?? "";
          under = p === "" || p.endsWith("/") ? p + basename(abs) : p;
          message = `Adding file ${showLocal(source, false)} to ${b.name} as ${under}`;
          inSource = (k) => k.isLocal() && k.path === abs;
        }
      }
      ctx.say(message);
      await b.add(source, logical);
      // A directory holding the workspace (added from below it) must not bring in our state.
      // The entries are read as held, not copied: a prefix may hold a million objects.
      const ownState = [...b.heldState().entries].filter(
        (e) => e.source.isLocal() && e.source.path.startsWith(ws.stateDir + "/"),
      );
      for (const e of ownState) b.delete(e.logicalKey);
      const added = [...b.heldState().entries].filter(
        (e) => e.logicalKey.startsWith(under) && inSource(e.source),
      );
      if (added.length === 0) {
        throw new QuiltError("ENOTFOUND", `Nothing to add from ${source}`, {
          hint: "the directory is empty, or .quiltignore excludes everything in it",
        });
      }
      ctx.print(`Added ${added.length} file${added.length === 1 ? "" : "s"}`, {
        name: b.name,
        source,
        logical: under,
        // Only --json prints the list: a million of these objects are not made for nothing.
        added: ctx.globals.json
          ? added.map((e) => ({ logicalKey: e.logicalKey, source: e.source.toString() }))
          : [],
      });
    });
  },
});
