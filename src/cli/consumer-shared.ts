// Pieces the consumer commands (install, status, verify, force-match, ls, cat, ...) share:
// opening the version a directory's install record names, the JSON a version is described
// by, hints in CLI terms for the library's "not found" errors, and a JSON printer that
// keeps big integers exact.
import { isQuiltError, QuiltError } from "../errors.js";
import { shellQuote } from "./shell-quote.js";
import { readInstallState, type InstallState } from "../api/install-state.js";
import { Package } from "../api/package.js";
import type { PlainJson } from "../manifest/json-value.js";
import type { CommandContext } from "./context.js";

export interface Installed {
  state: InstallState;
  pkg: Package;
}

/**
 * The version DIR's install record names, or undefined when DIR holds no install. The
 * manifest comes from the manifest cache when it is there (no registry listing), so a
 * status of an installed directory works offline after the install.
 */
export async function openInstalled(ctx: CommandContext, dir: string): Promise<Installed | undefined> {
  const state = await readInstallState(dir);
  if (!state) return undefined;
  const url = ctx.quilt.registryUrl(state.registry);
  const registry = ctx.quilt.registry(url);
  const topHash = state.topHash;
  const manifest = await registry.loadManifest({ name: state.name, topHash, layout: "v1" });
  const pkg = Package.fromManifest(
    ctx.quilt,
    url,
    state.name,
    state.tag,
    manifest,
    registry.manifestUrl(state.name, topHash),
  );
  return { state, pkg };
}

export function noInstallError(dir: string, alternative: string): QuiltError {
  return new QuiltError("ENOTFOUND", `${dir} holds no installed package`, {
    hint: `install one with \`quilt install NAME --dest ${shellQuote(dir)}\`${alternative ? `, ${alternative}` : ""}`,
  });
}

/** A version in --json documents. */
export function versionJson(pkg: Package): {
  registry: string;
  name: string;
  tag: string | null;
  topHash: string;
} {
  return { registry: pkg.registry.url, name: pkg.name, tag: pkg.tag ?? null, topHash: pkg.hash };
}

/** Runs `fn`; a "not found" error without a hint gets `hint` (library hints name library calls). */
export async function hinted<T>(fn: () => T | Promise<T>, hint: string): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isQuiltError(err, "ENOTFOUND")) throw new QuiltError("ENOTFOUND", err.message, { hint, cause: err });
    throw err;
  }
}

/** JSON text of user data; big integers (beyond 2^53) print as the exact numbers they are. */
export function formatJson(v: PlainJson, indent = 0, depth = 0): string {
  if (typeof v === "bigint") return v.toString();
  if (v === null || typeof v !== "object") return JSON.stringify(v);
  const pad = indent > 0 ? "\n" + " ".repeat(indent * (depth + 1)) : "";
  const end = indent > 0 ? "\n" + " ".repeat(indent * depth) : "";
  const sep = indent > 0 ? ": " : ":";
  const items = Array.isArray(v)
    ? v.map((x) => formatJson(x, indent, depth + 1))
    : Object.entries(v).map(([k, x]) => JSON.stringify(k) + sep + formatJson(x, indent, depth + 1));
  const [open, close] = Array.isArray(v) ? ["[", "]"] : ["{", "}"];
  return items.length === 0 ? open + close : open + pad + items.join("," + pad) + end + close;
}
