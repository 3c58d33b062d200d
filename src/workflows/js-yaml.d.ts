// The part of js-yaml 4 used here (the package ships no types, and @types/js-yaml would be one
// more dependency for two names).
declare module "js-yaml" {
  export const CORE_SCHEMA: unknown;
  export function load(text: string, opts?: { schema?: unknown; filename?: string }): unknown;
}
