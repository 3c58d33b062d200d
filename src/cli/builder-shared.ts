// What the workspace commands share: open the workspace, change its builder, save it
// (atomically, see workspace.ts) only when the command succeeded; metadata given as JSON
// on the command line.
import { errorMessage, QuiltError } from "../errors.js";
import { parseJson } from "../manifest/json-parse.js";
import type { JsonValue } from "../manifest/json-value.js";
import { manifestJson } from "../manifest/python-json.js";
import type { CommandContext } from "./context.js";
import { openWorkspace, type Workspace } from "./workspace.js";

/** Runs `fn` on the workspace's builder and saves the result; nothing is saved if it throws. */
export async function changeWorkspace<T>(ctx: CommandContext, fn: (ws: Workspace) => Promise<T>): Promise<T> {
  const ws = await openWorkspace(ctx);
  const result = await fn(ws);
  await ws.save();
  return result;
}

/**
 * JSON given on the command line, parsed as a manifest keeps it (1.0 stays a float,
 * big integers stay exact, keys keep their order). NaN and Infinity are refused: quilt3
 * cannot write them into a manifest.
 */
export function parseUserJson(text: string, what: string): JsonValue {
  let v: JsonValue;
  try {
    v = parseJson(text);
    manifestJson(v);
  } catch (err) {
    throw new QuiltError("EUSAGE", `Invalid JSON for ${what}: ${errorMessage(err)}`, {
      hint: `give a JSON value in quotes, e.g. '{"source": "camera-2", "scale": 1.0}'`,
    });
  }
  return v;
}
