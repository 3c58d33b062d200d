// `--workflow ID` of the commands that push a version, as quilt3's CLI has it: absent, the
// registry's default workflow; an empty string, no workflow (quilt3's workflow=None, which a
// config with is_workflow_required refuses).
import type { Argv } from "yargs";
import type { WorkflowChoice } from "../workflows/workflow-validator.js";

export function withWorkflow<T>(y: Argv<T>) {
  return y.option("workflow", {
    type: "string",
    describe:
      "Workflow ID from the registry's .quilt/workflows/config.yml (quilt3's format), or '' for none; " +
      "default: its default_workflow. The push is refused if the package does not pass it " +
      "(required workflow, metadata/entries JSON Schemas, name pattern, message), exit 9",
  });
}

export function workflowChoice(arg: string | undefined): WorkflowChoice {
  return arg === "" ? null : arg;
}
