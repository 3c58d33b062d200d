// `quilt push`: push-data then push-manifest, saving the workspace in between so that a
// failure while registering the manifest keeps what was already pushed.
import { changeWorkspace } from "./builder-shared.js";
import { defineCommand } from "./command.js";
import { pushedJson, pushWorkspaceData, withPrefix } from "./push-data-command.js";
import {
  checkTag,
  dedupedLatest,
  packageJson,
  pushWorkspaceManifest,
  withDedupe,
  withTagAndMessage,
} from "./push-manifest-command.js";
import { withWorkflow, workflowChoice } from "./workflow-option.js";

export const pushCommand = defineCommand({
  builder: (y) =>
    withWorkflow(withDedupe(withTagAndMessage(withPrefix(y))))
      .example("quilt push --prefix=data/dataset/v1/ -t v1", "push everything and tag the version v1")
      .example('quilt push -m "fix labels"', "push with the last prefix used, with a message")
      .example(
        "quilt push --workflow curated -m v2",
        "push under the registry's 'curated' workflow (exit 9 if refused)",
      ),
  async handler(args, ctx) {
    checkTag(args.tag);
    const workflow = workflowChoice(args.workflow);
    const message = args.message !== undefined ? { message: args.message } : {};
    await changeWorkspace(ctx, async (ws) => {
      // Refused by the registry's workflow before any byte is copied, as quilt3 refuses.
      await ws.builder.checkWorkflow({ workflow, ...message });
      // Before any data is copied: the top hash does not depend on where the bytes are.
      const same = await dedupedLatest(ctx, ws, args.dedupe);
      if (same) return ctx.print([], { ...packageJson(same), skipped: true });
      const { prefix, pushed } = await pushWorkspaceData(ctx, ws, args.prefix, false);
      await ws.save();
      const pkg = await pushWorkspaceManifest(ctx, ws, {
        ...(args.tag !== undefined && { tag: args.tag }),
        ...message,
        workflow,
      });
      ctx.print([], { ...packageJson(pkg), prefix, pushed: pushedJson(pushed) });
    });
  },
});
