// What a push asks of the registry's workflow, in quilt3's order and words
// (quilt3/workflows/__init__.py, `validate`): which workflow (given, else the config's
// default, else none, which the config may forbid), then the commit message, the package
// name (handle_pattern), the package metadata (metadata_schema) and the entries
// (entries_schema, over [{logical_key, size, meta}] in walk order). What it returns goes into
// the manifest header as "workflow": {"id", "config", "schemas"}, which the top hash covers.
import { QuiltError } from "../errors.js";
import type { JsonObject, JsonValue } from "../manifest/json-value.js";
import type { RegistryUrl } from "../manifest/registry-url.js";
import type { Stores } from "../storage/stores.js";
import type { JsonSchema } from "./json-schema.js";
import { pythonStrRepr } from "./python-repr.js";
import type { SchemaFailure } from "./schema-messages.js";
import { WORKFLOWS_CONFIG_PATH, WorkflowConfig, type WorkflowEntry } from "./workflow-config.js";

/** A workflow ID; undefined: the config's default (quilt3's `...`); null: none (quilt3's `None`). */
export type WorkflowChoice = string | null | undefined;

export interface WorkflowSubject {
  name: string;
  /** The commit message the version will carry. */
  message: string | null | undefined;
  /** The package's user metadata ({} when it has none). */
  userMeta: JsonValue;
  /** [{logical_key, size, meta (the entry's user metadata)}] in walk order; built only if a schema needs it. */
  entries: () => Promise<JsonValue[]>;
}

function workflowIds(config: WorkflowConfig): string {
  return Object.keys(config.data.workflows).join(", ");
}

function refused(message: string, hint: string): QuiltError {
  return new QuiltError("EWORKFLOW", message, { hint });
}

/** "owner", "[0].size", as a path into the data for a hint. */
function pathText(path: (string | number)[]): string {
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`)).join("");
}

function schemaRefusal(what: string, failure: SchemaFailure, where: string, fieldOf: string): QuiltError {
  const at = failure.path.length > 0 ? `field ${pathText(failure.path)} of ${fieldOf}` : fieldOf;
  return refused(`${what}: ${failure.message}.`, `${at} does not match the workflow's schema ${where}`);
}

/**
 * Checks `subject` against the registry's workflow. Returns the header's "workflow" value,
 * or undefined when the registry has no config and no workflow was asked for.
 */
export async function checkWorkflow(
  stores: Stores,
  registry: RegistryUrl,
  choice: WorkflowChoice,
  subject: WorkflowSubject,
): Promise<JsonObject | undefined> {
  const config = await WorkflowConfig.load(stores, registry);
  if (!config) {
    if (choice === undefined) return undefined;
    throw refused(
      `${choice === null ? "None" : pythonStrRepr(choice)} workflow is specified, but no workflows config exist.`,
      `${registry.url} has no ${WORKFLOWS_CONFIG_PATH}: push without a workflow`,
    );
  }
  const id = choice === undefined ? (config.data.default_workflow ?? null) : choice;
  // No workflow, where the config allows none, has no rules (quilt3: workflow_data = {}).
  let workflow: Partial<WorkflowEntry> = {};
  if (id === null) {
    if (config.data.is_workflow_required ?? true)
      throw refused(
        "Workflow required, but none specified.",
        `${registry.url}'s workflows config requires one: push with --workflow ID (one of: ${workflowIds(config)})`,
      );
  } else {
    const found = Object.hasOwn(config.data.workflows, id) ? config.data.workflows[id] : undefined;
    if (!found)
      throw refused(
        `There is no ${pythonStrRepr(id)} workflow in config.`,
        `the workflows of ${registry.url} are: ${workflowIds(config)}`,
      );
    workflow = found;
  }

  let pattern: RegExp | undefined;
  if (workflow.handle_pattern) {
    try {
      pattern = new RegExp(workflow.handle_pattern, "u");
    } catch (err) {
      throw new QuiltError(
        "EWORKFLOWCONFIG",
        `Invalid handle_pattern ${pythonStrRepr(workflow.handle_pattern)}.`,
        {
          hint: `fix workflow ${pythonStrRepr(String(id))} in ${config.physicalKey.toString()}`,
          cause: err,
        },
      );
    }
  }
  const schemas: [string, JsonSchema, string][] = [];
  const loaded = async (schemaId: string | undefined): Promise<[JsonSchema, string] | undefined> => {
    if (!schemaId) return undefined;
    const { schema, pk } = await config.schema(schemaId);
    if (!schemas.some(([s]) => s === schemaId)) schemas.push([schemaId, schema, pk.toString()]);
    return [schema, pk.toString()];
  };
  const metadataSchema = await loaded(workflow.metadata_schema);
  const entriesSchema = await loaded(workflow.entries_schema);

  const stored: JsonObject = new Map<string, JsonValue>([
    ["id", id],
    ["config", config.physicalKey.toString()],
  ]);
  if (schemas.length > 0) stored.set("schemas", new Map(schemas.map(([s, , url]) => [s, url])));

  if (workflow.is_message_required && !subject.message)
    throw refused(
      "Commit message is required by workflow, but none was provided.",
      "push with --message (-m) TEXT",
    );
  if (pattern && !pattern.test(subject.name))
    throw refused(
      "Package name doesn't match required pattern.",
      `workflow ${pythonStrRepr(String(id))} takes names matching ${pythonStrRepr(workflow.handle_pattern ?? "")}; ${pythonStrRepr(subject.name)} does not`,
    );
  if (metadataSchema) {
    const failure = metadataSchema[0].check(subject.userMeta);
    if (failure)
      throw schemaRefusal("Metadata failed validation", failure, metadataSchema[1], "the package metadata");
  }
  if (entriesSchema) {
    const entries = await subject.entries();
    const failure = entriesSchema[0].check(entries);
    if (failure) {
      const [index, ...rest] = failure.path;
      const entry = typeof index === "number" ? (entries[index] as JsonObject | undefined) : undefined;
      const key = entry?.get("logical_key");
      const what = typeof key === "string" ? { ...failure, path: rest } : failure;
      throw schemaRefusal(
        "Package entries failed validation",
        what,
        entriesSchema[1],
        typeof key === "string" ? `entry ${pythonStrRepr(key)}` : "the package entries",
      );
    }
  }
  return stored;
}
