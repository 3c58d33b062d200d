// `quilt push-manifest`: builds the manifest if needed and registers it (with TAG, and
// as latest). Refused while entries point at local files: a package in a shared registry
// must not name files on this machine, unless --force-allow-local-files says so.
import type { Argv } from "yargs";
import type { Package } from "../api/package.js";
import { QuiltError } from "../errors.js";
import { isValidTag } from "../manifest/package-spec.js";
import type { CommandContext } from "./context.js";
import { defineCommand } from "./command.js";
import type { Workspace } from "./workspace.js";
import { changeWorkspace } from "./builder-shared.js";
import { withWorkflow, workflowChoice } from "./workflow-option.js";
import type { WorkflowChoice } from "../workflows/workflow-validator.js";

export const LOCAL_FILES_REFUSAL =
  "Manifest contains pointers to local files. Use push-data to first push those files to s3 or --force-allow-local-files if this is intentional";

export function withDedupe<T>(y: Argv<T>) {
  return y.option("dedupe", {
    type: "boolean",
    default: false,
    describe: "Push nothing if the registry's latest version is this one already (no new timestamp)",
  });
}

/** With --dedupe, the latest version when it is the workspace's (built first if needed), else undefined. */
export async function dedupedLatest(
  ctx: CommandContext,
  ws: Workspace,
  dedupe: boolean,
): Promise<Package | undefined> {
  if (!dedupe) return undefined;
  if (ws.builder.topHash === undefined) {
    const progress = ctx.progress("Hashing");
    await ws.builder.buildManifest({ onProgress: progress.onHashing });
    progress.finish();
  }
  return ws.builder.sameAsLatest();
}

export function withTagAndMessage<T>(y: Argv<T>) {
  return y
    .option("tag", {
      alias: "t",
      type: "string",
      requiresArg: true,
      describe: "Tag the version (it is tagged latest in any case)",
    })
    .option("message", {
      alias: "m",
      type: "string",
      requiresArg: true,
      describe: "Commit message of the version",
    });
}

export function checkTag(tag: string | undefined): void {
  if (tag !== undefined && !isValidTag(tag)) {
    throw new QuiltError("EUSAGE", `Invalid tag ${JSON.stringify(tag)}`, {
      hint: "a tag is letters, digits, '_', '-' and '.', e.g. v0",
    });
  }
}

/** Checks the registry's workflow, builds (with progress) if needed and pushes the manifest. */
export async function pushWorkspaceManifest(
  ctx: CommandContext,
  ws: Workspace,
  opts: { tag?: string; message?: string; forceAllowLocalFiles?: boolean; workflow?: WorkflowChoice },
): Promise<Package> {
  const b = ws.builder;
  if (b.hasLocalFiles() && !opts.forceAllowLocalFiles) {
    throw new QuiltError("EUSAGE", LOCAL_FILES_REFUSAL, {
      hint: "run `quilt push-data --prefix PREFIX` first (or `quilt push`, which pushes data and manifest)",
    });
  }
  // Before hashing: a package the workflow refuses costs no hashing.
  await b.checkWorkflow({
    workflow: opts.workflow,
    ...(opts.message !== undefined && { message: opts.message }),
  });
  if (b.topHash === undefined) {
    const progress = ctx.progress("Hashing");
    await b.buildManifest({ onProgress: progress.onHashing });
    progress.finish();
  }
  return b.pushManifest({
    ...(opts.tag !== undefined && { tag: opts.tag }),
    ...(opts.message !== undefined && { message: opts.message }),
    forceAllowLocalFiles: opts.forceAllowLocalFiles === true,
    workflow: opts.workflow,
  });
}

export function packageJson(pkg: Package) {
  return {
    name: pkg.name,
    registry: pkg.registry.url,
    tag: pkg.tag ?? null,
    topHash: pkg.hash,
    manifest: pkg.manifestLocation,
  };
}

export const pushManifestCommand = defineCommand({
  builder: (y) =>
    withWorkflow(withDedupe(withTagAndMessage(y)))
      .option("force-allow-local-files", {
        type: "boolean",
        default: false,
        describe: "Push even though entries point at files on this machine",
      })
      .example("quilt push-manifest -t v0", "register the version, tagged v0 and latest")
      .example("quilt push-manifest --force-allow-local-files", "register a package that names local files"),
  async handler(args, ctx) {
    checkTag(args.tag);
    const workflow = workflowChoice(args.workflow);
    await changeWorkspace(ctx, async (ws) => {
      // The workflow first, as quilt3: it is in the header, so the top hash dedupe compares covers it.
      await ws.builder.checkWorkflow({
        workflow,
        ...(args.message !== undefined && { message: args.message }),
      });
      const same = await dedupedLatest(ctx, ws, args.dedupe);
      if (same) return ctx.print([], { ...packageJson(same), skipped: true });
      const pkg = await pushWorkspaceManifest(ctx, ws, {
        ...(args.tag !== undefined && { tag: args.tag }),
        ...(args.message !== undefined && { message: args.message }),
        forceAllowLocalFiles: args.forceAllowLocalFiles,
        workflow,
      });
      ctx.print([], packageJson(pkg));
    });
  },
});
