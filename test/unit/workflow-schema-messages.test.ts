// quilt3 refuses a push with the first error of Python's jsonschema (Draft7Validator), worded
// by jsonschema; we decide with Ajv and word the verdict ourselves (src/workflows). Each case
// runs through both, and the messages must be the same text, repr() of the data included
// (1.0 vs 1, quotes, unicode, key order).
import { describe, expect, it } from "vitest";
import { parseJson } from "../../src/manifest/json-parse.js";
import { JsonSchema } from "../../src/workflows/json-schema.js";
import { pythonRepr } from "../../src/workflows/python-repr.js";
import { runQuilt3Json } from "../helpers/quilt3.js";

/** [schema, instance] as JSON texts, so that 1.0 and key order reach both sides as written. */
const CASES: [string, string][] = [
  ['{"type": "object", "properties": {"owner": {"type": "string"}}}', '{"owner": 3}'],
  ['{"type": "object", "properties": {"owner": {"type": "string"}}}', '{"owner": 1.0}'],
  ['{"type": "object"}', '["a", {"b": null, "c": true}]'],
  ['{"type": ["string", "null"]}', "false"],
  ['{"required": ["owner", "date"]}', '{"date": "x"}'],
  ['{"properties": {"n": {"minimum": 3}}}', '{"n": 2.5}'],
  ['{"properties": {"n": {"maximum": 100}}}', '{"n": 12813}'],
  ['{"exclusiveMinimum": 3}', "3"],
  ['{"exclusiveMaximum": 3.0}', "3.0"],
  ['{"multipleOf": 5}', "12"],
  ['{"minLength": 1}', '""'],
  ['{"minLength": 3}', '"ab"'],
  ['{"maxLength": 2}', '"d\\u00e9j\\u00e0"'],
  ['{"minItems": 1}', "[]"],
  ['{"maxItems": 1}', "[1, 2]"],
  ['{"uniqueItems": true}', "[1, 2, 1]"],
  ['{"pattern": "^[a-z]+$"}', '"It\'s"'],
  ['{"enum": ["train", "test", 1.5]}', '"val"'],
  ['{"const": {"a": [1, 2.0]}}', '{"a": 1}'],
  ['{"additionalProperties": false, "properties": {"a": {}}}', '{"a": 1, "z": 2, "b": 3}'],
  ['{"additionalProperties": false, "patternProperties": {"^x-": {}}}', '{"x-a": 1, "y": 2}'],
  ['{"anyOf": [{"type": "string"}, {"type": "integer"}]}', "[1]"],
  ['{"oneOf": [{"type": "string"}, {"type": "object"}]}', "3"],
  ['{"not": {"type": "string"}}', '"tab\\there"'],
  ['{"type": "array", "items": {"properties": {"size": {"maximum": 10}}}}', '[{"size": 1}, {"size": 11}]'],
  [
    '{"type": "array", "items": {"properties": {"logical_key": {"pattern": "\\\\.csv$"}}}}',
    '[{"logical_key": "a.csv"}, {"logical_key": "b.txt"}]',
  ],
  ['{"properties": {"tags": {"contains": {"const": "gold"}}}}', '{"tags": ["x"]}'],
  ['{"propertyNames": {"maxLength": 3}}', '{"abcd": 1}'],
  ['{"dependencies": {"a": ["b"]}}', '{"a": 1}'],
  ['{"if": {"required": ["a"]}, "then": {"required": ["b"]}}', '{"a": 1}'],
  [
    '{"properties": {"a": {"properties": {"b": {"type": "integer"}}}}}',
    '{"a": {"b": "\\u2603 \\"q\\" \'s\'"}}',
  ],
];

const PYTHON = `
import jsonschema
out = []
for schema, instance in ARGS:
    try:
        jsonschema.Draft7Validator(json.loads(schema)).validate(json.loads(instance))
        out.append(None)
    except jsonschema.ValidationError as e:
        out.append({"message": e.message, "path": list(e.absolute_path)})
print(json.dumps(out))
`;

describe("JSON Schema failures worded as quilt3's jsonschema words them", () => {
  it("gives the same first message for every case", async () => {
    const expected = await runQuilt3Json<({ message: string; path: (string | number)[] } | null)[]>(
      PYTHON,
      CASES,
    );
    const ours = CASES.map(
      ([schema, instance]) =>
        JsonSchema.compile(Buffer.from(schema), "s", "test").check(parseJson(instance)) ?? null,
    );
    expect(ours).toEqual(expected);
  });

  it("repr()s data as Python does", () => {
    expect(pythonRepr(parseJson('{"a": [1, 1.0, 1e16, null, true, "it\'s", "x\\ny"]}'))).toBe(
      `{'a': [1, 1.0, 1e+16, None, True, "it's", 'x\\ny']}`,
    );
  });

  it("refuses what quilt3 refuses in a schema: $ref, another meta-schema, an invalid schema", () => {
    expect(() => JsonSchema.compile(Buffer.from('{"properties": {"a": {"$ref": "#/x"}}}'), "m", "u")).toThrow(
      "Currently we don't support $ref in schema.",
    );
    expect(() =>
      JsonSchema.compile(
        Buffer.from('{"$schema": "https://json-schema.org/draft/2020-12/schema"}'),
        "m",
        "u",
      ),
    ).toThrow("Unsupported meta-schema: https://json-schema.org/draft/2020-12/schema.");
    expect(() => JsonSchema.compile(Buffer.from('{"type": "strin"}'), "m", "u")).toThrow(
      "Schema 'm' is not valid: 'strin' is not valid under any of the given schemas.",
    );
    expect(() => JsonSchema.compile(Buffer.from("{nope"), "m", "s3://b/k")).toThrow(
      "Couldn't parse s3://b/k as JSON.",
    );
  });
});
