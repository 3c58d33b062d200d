// A builder's side of a workflow check (src/workflows): what quilt3 hands its validator at
// push time, taken from the builder's header and entries. Entries not sized yet (local files
// are sized when hashed) are stat'ed, so a push is refused before any byte is hashed or copied.
import { stat } from "node:fs/promises";
import type { JsonObject, JsonValue } from "../manifest/json-value.js";
import { compareLogicalKeys } from "../manifest/logical-key.js";
import type { RegistryUrl } from "../manifest/registry-url.js";
import type { Stores } from "../storage/stores.js";
import { checkWorkflow, type WorkflowChoice } from "../workflows/workflow-validator.js";
import type { BuilderEntry } from "./builder-sources.js";
import { forEachLimited } from "../limiter.js";

const STAT_CONCURRENCY = 32;

async function entriesForSchema(stores: Stores, entries: BuilderEntry[]): Promise<JsonValue[]> {
  const sorted = [...entries].sort((a, b) => compareLogicalKeys(a.logicalKey, b.logicalKey));
  const sizes = new Map<BuilderEntry, number>();
  await forEachLimited(
    sorted.filter((e) => e.size === undefined),
    STAT_CONCURRENCY,
    async (e) => {
      if (e.source.isLocal()) sizes.set(e, (await stat(e.source.path)).size);
      else {
        const { store, loc } = stores.forPhysicalKey(e.source);
        sizes.set(e, (await store.head(loc)).size);
      }
    },
  );
  // quilt3 shares one {} between entries without metadata; so do we, for a million entries.
  const empty: JsonObject = new Map();
  return sorted.map(
    (e) =>
      new Map<string, JsonValue>([
        ["logical_key", e.logicalKey],
        ["size", e.size ?? (sizes.get(e) as number)],
        ["meta", e.meta.get("user_meta") ?? empty],
      ]),
  );
}

/**
 * The header a push writes under the registry's workflow: `header` with "workflow" set to
 * what the check returned, where quilt3 puts it (in place, else last), or removed when the
 * registry has no config. Throws EWORKFLOW / EWORKFLOWCONFIG as quilt3 refuses.
 */
export async function headerWithWorkflow(
  stores: Stores,
  registry: RegistryUrl,
  name: string,
  header: JsonObject,
  entries: BuilderEntry[],
  opts: { workflow?: WorkflowChoice; message?: string | null },
): Promise<JsonObject> {
  const stored = await checkWorkflow(stores, registry, opts.workflow, {
    name,
    message: opts.message,
    userMeta: header.get("user_meta") ?? new Map(),
    entries: () => entriesForSchema(stores, entries),
  });
  const out = new Map(header);
  if (stored) out.set("workflow", stored);
  else out.delete("workflow");
  return out;
}
