// A workflow's JSON Schema, loaded as quilt3 loads it (workflows/__init__.py): JSON that
// must not use $ref, draft-07 only (the meta-schema quilt3 supports, also when $schema is
// absent), checked against the draft-07 meta-schema before use. Formats are not asserted,
// as jsonschema's validators do not assert them unless given a format checker.
import Ajv, { type ErrorObject, type ValidateFunction } from "ajv";
import { QuiltError } from "../errors.js";
import { parseJson } from "../manifest/json-parse.js";
import { PyFloat, type JsonValue } from "../manifest/json-value.js";
import { pythonStrRepr } from "./python-repr.js";
import { describeFailure, type SchemaFailure } from "./schema-messages.js";

export const DRAFT_07 = "http://json-schema.org/draft-07/schema#";

const CONFIG_HINT =
  "fix the schema (or its URL in .quilt/workflows/config.yml), or push with another --workflow";

function newAjv(): Ajv.Ajv {
  return new Ajv({ verbose: true, jsonPointers: true, format: false, logger: false });
}

/** Plain data for Ajv: objects, numbers (a bigint beyond 2^53 is compared approximately). */
function forAjv(v: JsonValue): unknown {
  if (v instanceof PyFloat) return v.value;
  if (typeof v === "bigint") return Number(v);
  if (Array.isArray(v)) return v.map(forAjv);
  if (v instanceof Map) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of v)
      Object.defineProperty(out, k, { value: forAjv(x), enumerable: true, writable: true });
    return out;
  }
  return v;
}

function hasRef(v: JsonValue): boolean {
  if (v instanceof Map) return v.has("$ref") || [...v.values()].some(hasRef);
  return Array.isArray(v) && v.some(hasRef);
}

/** A compiled schema that words its failures as jsonschema does. */
export class JsonSchema {
  private constructor(
    private readonly validateFn: ValidateFunction,
    /** The schema as parsed, for the values messages quote (2.0 stays a float). */
    private readonly model: unknown,
  ) {}

  /** The schema in `bytes`, read from `where` (a URL, for messages), known as `id` in the config. */
  static compile(bytes: Buffer, id: string, where: string): JsonSchema {
    let model: JsonValue;
    try {
      model = parseJson(bytes.toString("utf8"));
    } catch (err) {
      throw new QuiltError("EWORKFLOWCONFIG", `Couldn't parse ${where} as JSON.`, {
        hint: CONFIG_HINT,
        cause: err,
      });
    }
    if (hasRef(model))
      throw new QuiltError("EWORKFLOWCONFIG", "Currently we don't support $ref in schema.", {
        hint: `inline the referenced definitions in ${where}`,
      });
    if (model instanceof Map && model.has("$schema")) {
      const meta = model.get("$schema");
      if (typeof meta !== "string")
        throw new QuiltError("EWORKFLOWCONFIG", "$schema must be a string.", { hint: CONFIG_HINT });
      if (meta !== DRAFT_07)
        throw new QuiltError("EWORKFLOWCONFIG", `Unsupported meta-schema: ${meta}.`, {
          hint: `quilt3 supports draft-07 only: "$schema": "${DRAFT_07}"`,
        });
    }
    return JsonSchema.checked(forAjv(model), id, model);
  }

  /** A schema of this program's own (quilt3's config schema), which may use $ref. */
  static builtIn(schema: object, id: string): JsonSchema {
    return JsonSchema.checked(schema, id, schema);
  }

  private static checked(plain: unknown, id: string, model: unknown): JsonSchema {
    const ajv = newAjv();
    if (!ajv.validateSchema(plain as object)) {
      const failure = describeFailure(ajv.errors ?? [], model, undefined);
      throw notValid(id, failure.message);
    }
    try {
      return new JsonSchema(ajv.compile(plain as object), model);
    } catch (err) {
      throw notValid(id, (err as Error).message);
    }
  }

  /** Undefined when `data` (the manifest's model: Maps, PyFloat) is valid, else the first failure. */
  check(data: JsonValue): SchemaFailure | undefined {
    if (this.validateFn(forAjv(data))) return undefined;
    return describeFailure((this.validateFn.errors ?? []) as ErrorObject[], data, this.model);
  }
}

function notValid(id: string, message: string): QuiltError {
  return new QuiltError("EWORKFLOWCONFIG", `Schema ${pythonStrRepr(id)} is not valid: ${message}.`, {
    hint: CONFIG_HINT,
  });
}
