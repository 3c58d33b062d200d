// A small schema for the parameters of a daemon request, checked once where a request
// enters the daemon (socket-server.ts): each field's check turns a JSON value into its type
// or refuses the request as the caller's fault (EUSAGE, never an internal error), so a
// handler only ever sees parameters of the declared shape. Written out rather than a
// validation library: the protocol has a dozen fields, and each refusal says what it wanted.
import { QuiltError } from "../errors.js";

/** Where a field is checked: the operation and the field's name, for the refusal's message. */
export interface FieldAt {
  op: string;
  field: string;
}

/** Checks one field's value; throws EUSAGE saying what was expected. */
export type Field<T> = (value: unknown, at: FieldAt) => T;

/**
 * One check per field of T, optional fields included: a schema cannot leave out a field its
 * type declares, nor check one with the wrong type.
 */
export type Schema<T> = { [K in keyof T]-?: Field<T[K]> };

/** Checks a request's params; fields the schema does not name are ignored, as JSON readers do. */
export type ParamsCheck<T> = (params: Record<string, unknown>, op: string) => T;

export function refuse(message: string, hint?: string): QuiltError {
  return new QuiltError("EUSAGE", message, hint !== undefined ? { hint } : {});
}

/** A value as a refusal shows it: short, and never an object's own toString. */
export function shown(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v.slice(0, 200));
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object") return "an object";
  return typeof v === "number" || typeof v === "boolean" ? JSON.stringify(v) : typeof v;
}

export function object<T>(schema: Schema<T>): ParamsCheck<T> {
  return (params, op) => {
    const out: Partial<T> = {};
    for (const field of Object.keys(schema) as (keyof T & string)[]) {
      // Own properties only: a key such as "constructor" names nothing on a plain object.
      const value = schema[field](Object.hasOwn(params, field) ? params[field] : undefined, { op, field });
      if (value !== undefined) out[field] = value;
    }
    return out as T;
  };
}

/** An operation without parameters (whatever is sent is ignored, as before). */
export const noParams: ParamsCheck<NoParams> = () => ({});
export type NoParams = Record<string, never>;

/** Absent (undefined) is allowed; anything else, null included, must pass `check`. */
export function optional<T>(check: Field<T>): Field<T | undefined> {
  return (value, at) => (value === undefined ? undefined : check(value, at));
}

export const boolean: Field<boolean> = (value, { op, field }) => {
  if (typeof value !== "boolean")
    throw refuse(`A ${op} request's "${field}" must be true or false, got ${shown(value)}`);
  return value;
};

/** A string; `message` says what the field is for when it is missing or not a string. */
export function string(message: (at: FieldAt) => string): Field<string> {
  return (value, at) => {
    if (typeof value !== "string") throw refuse(message(at));
    return value;
  };
}

/** One of a few strings; the refusal's hint lists them. */
export function oneOf<const V extends string>(values: readonly V[], what: string): Field<V> {
  return (value) => {
    if (!(values as readonly unknown[]).includes(value))
      throw refuse(`Invalid ${what} ${JSON.stringify(value)}`, `one of: ${values.join(", ")}`);
    return value as V;
  };
}
