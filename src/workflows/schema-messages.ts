// Ajv decides whether data matches a JSON Schema; this file words its verdict as quilt3
// does, which raises the first jsonschema (Python) ValidationError: "3 is not of type
// 'string'", "'owner' is a required property", "12813 is greater than the maximum of 100".
// Ajv runs with allErrors off, so its errors end with the failing keyword of the outermost
// schema; branch errors of anyOf/oneOf come before it and are not what jsonschema reports.
import type { ErrorObject } from "ajv";
import { pythonRepr, pythonStrRepr } from "./python-repr.js";

export interface SchemaFailure {
  /** jsonschema's message, without quilt3's prefix ("Metadata failed validation: ") or final ".". */
  message: string;
  /** Where in the data: keys and indices from the root. */
  path: (string | number)[];
}

/** A JSON pointer (Ajv's dataPath with jsonPointers on, or a schemaPath) as its segments. */
export function pointerSegments(pointer: string): string[] {
  if (pointer === "" || pointer === "#") return [];
  return pointer
    .replace(/^#/, "")
    .slice(1)
    .split("/")
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
}

function child(v: unknown, seg: string): unknown {
  if (Array.isArray(v)) return v[Number(seg)];
  if (v instanceof Map) return v.get(seg);
  if (typeof v === "object" && v !== null) return (v as Record<string, unknown>)[seg];
  return undefined;
}

function keysOf(v: unknown): string[] {
  if (v instanceof Map) return [...v.keys()] as string[];
  return typeof v === "object" && v !== null && !Array.isArray(v) ? Object.keys(v) : [];
}

/** The error jsonschema would report among Ajv's (see the header). */
function outermost(errors: ErrorObject[]): ErrorObject | undefined {
  const last = errors[errors.length - 1];
  // These wrap the error of a subschema, which is what jsonschema reports.
  if (last && (last.keyword === "propertyNames" || last.keyword === "if") && errors.length > 1)
    return errors[errors.length - 2];
  return last;
}

/**
 * jsonschema's message for Ajv's errors about `data`. `data` is the model the caller has
 * (Maps, PyFloat), so that repr() shows 1.0 and key order as Python would.
 */
export function describeFailure(errors: ErrorObject[], data: unknown, schemaModel: unknown): SchemaFailure {
  const e = outermost(errors);
  if (!e) return { message: "failed validation", path: [] };
  const segs = pointerSegments(e.dataPath);
  let instance: unknown = data;
  for (const s of segs) instance = child(instance, s);
  const path: (string | number)[] = segs.map((s, i) => {
    let parent: unknown = data;
    for (const p of segs.slice(0, i)) parent = child(parent, p);
    return Array.isArray(parent) ? Number(s) : s;
  });
  // A property name checked by propertyNames is the instance, not the object holding it.
  if (e.schemaPath.includes("/propertyNames/")) instance = e.data;
  // The keyword's value from the schema as parsed (2.0 stays a float), else Ajv's copy.
  const schemaSegs = e.schemaPath.split("/").slice(1).map(decodeURIComponent);
  let parent: unknown = schemaModel;
  for (const s of schemaSegs.slice(0, -1).map((x) => x.replace(/~1/g, "/").replace(/~0/g, "~")))
    parent = child(parent, s);
  const own = child(parent, e.keyword);
  return {
    message: message(e, instance, own !== undefined ? own : e.schema, parent ?? e.parentSchema),
    path,
  };
}

function message(e: ErrorObject, instance: unknown, schema: unknown, parent: unknown): string {
  const r = pythonRepr(instance);
  switch (e.keyword) {
    case "type": {
      const types = Array.isArray(schema) ? schema : [schema];
      return `${r} is not of type ${types.map((t) => pythonRepr(t)).join(", ")}`;
    }
    case "required": {
      const missing = (schema as string[]).find((p) => !keysOf(instance).includes(p));
      return `${pythonStrRepr(missing ?? "")} is a required property`;
    }
    case "dependencies": {
      const params = e.params as { missingProperty?: string; property?: string };
      return `${pythonRepr(params.missingProperty?.replace(/^[./]/, ""))} is a dependency of ${pythonRepr(params.property)}`;
    }
    case "additionalProperties":
      return additionalProperties(instance, parent);
    case "additionalItems": {
      const items = child(parent, "items");
      const extra = (instance as unknown[]).slice(Array.isArray(items) ? items.length : 0);
      return `Additional items are not allowed (${extra.map(pythonRepr).join(", ")} ${extra.length === 1 ? "was" : "were"} unexpected)`;
    }
    case "enum":
      return `${r} is not one of ${pythonRepr(schema)}`;
    case "const":
      return `${pythonRepr(schema)} was expected`;
    case "minimum":
      return `${r} is less than the minimum of ${pythonRepr(schema)}`;
    case "maximum":
      return `${r} is greater than the maximum of ${pythonRepr(schema)}`;
    case "exclusiveMinimum":
      return `${r} is less than or equal to the minimum of ${pythonRepr(schema)}`;
    case "exclusiveMaximum":
      return `${r} is greater than or equal to the maximum of ${pythonRepr(schema)}`;
    case "multipleOf":
      return `${r} is not a multiple of ${pythonRepr(schema)}`;
    case "minLength":
    case "minItems":
      return `${r} ${schema === 1 ? "should be non-empty" : "is too short"}`;
    case "maxLength":
    case "maxItems":
      return `${r} ${schema === 0 ? "is expected to be empty" : "is too long"}`;
    case "minProperties":
      return `${r} ${schema === 1 ? "should be non-empty" : "does not have enough properties"}`;
    case "maxProperties":
      return `${r} ${schema === 0 ? "is expected to be empty" : "has too many properties"}`;
    case "uniqueItems":
      return `${r} has non-unique elements`;
    case "pattern":
      return `${r} does not match ${pythonRepr(schema)}`;
    case "contains":
      return `None of ${r} are valid under the given schema`;
    case "anyOf":
    case "oneOf":
      return (e.params as { passingSchemas?: unknown }).passingSchemas
        ? `${r} is valid under each of ${pythonRepr(schema)}`
        : `${r} is not valid under any of the given schemas`;
    case "not":
      return `${r} should not be valid under ${pythonRepr(schema)}`;
    case "false schema":
      return `False schema does not allow ${r}`;
    default:
      return `${r}: ${e.message ?? "failed validation"}`;
  }
}

function additionalProperties(instance: unknown, parent: unknown): string {
  const props = keysOf(child(parent, "properties"));
  const patterns = keysOf(child(parent, "patternProperties"));
  const joinedPattern = patterns.length > 0 ? new RegExp(patterns.join("|"), "u") : undefined;
  const extras = keysOf(instance)
    .filter((k) => !props.includes(k) && !(joinedPattern?.test(k) ?? false))
    .sort();
  const joined = extras.map(pythonStrRepr).join(", ");
  if (patterns.length > 0) {
    const verb = extras.length === 1 ? "does" : "do";
    return `${joined} ${verb} not match any of the regexes: ${[...patterns].sort().map(pythonStrRepr).join(", ")}`;
  }
  return `Additional properties are not allowed (${joined} ${extras.length === 1 ? "was" : "were"} unexpected)`;
}
