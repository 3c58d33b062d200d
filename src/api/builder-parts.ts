// What a PackageBuilder holds and changes, in one object so that the files doing the work
// (builder-push.ts for pushes) can read and update it without reaching into the class:
// the entries, the header and directory metadata, and what a change makes stale.
import type { JsonObject, JsonValue } from "../manifest/json-value.js";
import type { Manifest } from "../manifest/manifest.js";
import type { WorkflowChoice } from "../workflows/workflow-validator.js";
import type { EntryMap } from "./builder-entries.js";
import type { BuilderEntry } from "./builder-sources.js";

export interface BuilderParts {
  entries: EntryMap;
  // "message" is added where quilt3 adds it (see headerWithMessage).
  header: JsonObject;
  dirMeta: Map<string, JsonValue>;
  /** The manifest of the last build, unless something changed since. */
  built: Manifest | undefined;
  /** Where the last pushManifest() put it, unless something changed since. */
  pushed: { tag?: string; url: string } | undefined;
  /** The workflow and message checkWorkflow() passed with, until something changes. */
  checked: { workflow: WorkflowChoice; message: string | undefined } | undefined;
}

export function emptyParts(): BuilderParts {
  return {
    entries: new Map(),
    header: new Map<string, JsonValue>([["version", "v0"]]),
    dirMeta: new Map(),
    built: undefined,
    pushed: undefined,
    checked: undefined,
  };
}

/** Anything changed: the build, the push and the workflow check no longer describe the builder. */
export function changed(parts: BuilderParts): void {
  parts.built = undefined;
  parts.pushed = undefined;
  parts.checked = undefined;
}

/** A builder's whole state: what toState() returns and fromState() takes. */
export interface BuilderSnapshot {
  entries: BuilderEntry[];
  header: JsonObject;
  dirMeta: Map<string, JsonValue>;
  /** The manifest of the last build, unless something changed since. */
  built: Manifest | undefined;
  /** Where the last pushManifest() put it, unless something changed since. */
  pushed: { tag?: string; url: string } | undefined;
}

/** Everything the builder holds, copied, for saving it between processes (see builder-state.ts). */
export function snapshotOf(parts: BuilderParts): BuilderSnapshot {
  return {
    entries: [...parts.entries.values()].map((e) => ({ ...e })),
    header: new Map(parts.header),
    dirMeta: new Map(parts.dirMeta),
    built: parts.built,
    pushed: parts.pushed && { ...parts.pushed },
  };
}

/** Fills fresh parts with a copy of what snapshotOf() returned (or of a package's, with nothing built). */
export function restoreParts(
  parts: BuilderParts,
  state: Omit<BuilderSnapshot, "header" | "dirMeta" | "built" | "pushed"> & {
    header: ReadonlyMap<string, JsonValue>;
    dirMeta: ReadonlyMap<string, JsonValue>;
    built?: Manifest;
    pushed?: BuilderSnapshot["pushed"];
  },
): void {
  parts.header = new Map(state.header);
  parts.dirMeta = new Map(state.dirMeta);
  for (const e of state.entries) parts.entries.set(e.logicalKey, { ...e });
  parts.built = state.built;
  parts.pushed = state.pushed && { ...state.pushed };
}
