// `quilt push-data`: copies the workspace's data into the registry's bucket (or
// directory) under PREFIX/<logical key>: local files are uploaded, objects elsewhere
// copied, and data already there with the same hash is kept ("data exists, skipping").
// Entries then point at the pushed copies; the top hash does not change.
import type { Argv } from "yargs";
import { normalizePrefix, type PushedEntry } from "../api/push-data.js";
import { changeWorkspace } from "./builder-shared.js";
import type { CommandContext } from "./context.js";
import { defineCommand } from "./command.js";
import type { Workspace } from "./workspace.js";

export function withPrefix<T>(y: Argv<T>) {
  return y.option("prefix", {
    type: "string",
    requiresArg: true,
    describe:
      "Key prefix for the data in the registry (default: the last one used in this workspace, else the package name)",
  });
}

/** Pushes the data (prefix as given, else remembered, else the package name) and remembers the prefix. */
export async function pushWorkspaceData(
  ctx: CommandContext,
  ws: Workspace,
  prefix: string | undefined,
  localFilesOnly: boolean,
): Promise<{ prefix: string; pushed: PushedEntry[] }> {
  const chosen = normalizePrefix(prefix ?? ws.dataPrefix ?? ws.builder.name);
  const progress = ctx.progress("Pushing");
  const pushed = await ws.builder.pushData({
    prefix: chosen,
    localFilesOnly,
    onProgress: progress.onTransfer,
  });
  progress.finish();
  if (pushed.length === 0) ctx.say(localFilesOnly ? "No local files to push" : "Nothing to push");
  ws.dataPrefix = chosen;
  return { prefix: chosen, pushed };
}

export function pushedJson(pushed: PushedEntry[]): unknown[] {
  return pushed.map((p) => ({
    logicalKey: p.entry.logicalKey,
    from: p.from.toString(),
    to: p.entry.source.toString(),
    outcome: p.outcome,
  }));
}

export const pushDataCommand = defineCommand({
  builder: (y) =>
    withPrefix(y)
      .option("local-files-only", {
        type: "boolean",
        default: false,
        describe: "Upload local files only; leave S3 objects where they are",
      })
      .example("quilt push-data --prefix=data/dataset/v0/ --local-files-only", "upload the local files")
      .example(
        "quilt push-data --prefix=data/dataset/v0/",
        "upload local files and copy S3 objects into the registry",
      ),
  async handler(args, ctx) {
    await changeWorkspace(ctx, async (ws) => {
      const { prefix, pushed } = await pushWorkspaceData(ctx, ws, args.prefix, args.localFilesOnly);
      ctx.print([], {
        name: ws.builder.name,
        registry: ws.builder.registry.url,
        prefix,
        pushed: pushedJson(pushed),
      });
    });
  },
});
