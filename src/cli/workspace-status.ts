// `quilt status` inside a builder workspace: the builder's name and state (pre-manifest,
// or the short top hash of its build) and where each part of its data comes from; once
// pushed and unchanged since, the package it became and "Data matches manifest".
// Exit status 1 while the workspace holds changes not pushed as a package, as `status`
// of a modified installed directory does. status-command.ts asks this module once it
// found no install record.
import { existsSync } from "node:fs";
import type { CommandContext } from "./context.js";
import { EXIT_DIFFERENCE, EXIT_OK } from "./exit-codes.js";
import { dataLines, formatDataLines, userPath } from "./workspace-display.js";
import { findWorkspaceRoot, Workspace } from "./workspace.js";
import { shortHash } from "../manifest/version-label.js";

/** Prints the status of the workspace at or above `dir`; false (nothing printed) when there is none. */
export async function workspaceStatus(ctx: CommandContext, dir: string): Promise<boolean> {
  const root = findWorkspaceRoot(dir);
  if (root === undefined) return false;
  const ws = await Workspace.open(root, () => {}, ctx);
  for (const w of ws.warnings) ctx.io.err(`warning: ${w}\n`);
  const b = ws.builder;
  const snap = b.toState();
  const top = snap.built?.topHash;
  const pushed = top !== undefined ? snap.pushed : undefined;
  const data = dataLines(snap.entries);
  const human: string[] = [];
  if (pushed && top !== undefined) {
    human.push(
      pushed.tag !== undefined
        ? `Package: ${b.name}:${pushed.tag} (${shortHash(top)})`
        : `Package: ${b.name}@${shortHash(top)}`,
    );
    human.push("Data matches manifest");
  } else {
    human.push(
      `PackageBuilder: ${b.name} (${top === undefined ? "pre-manifest" : shortHash(top)})`,
      "",
      "Data:",
    );
    human.push(
      ...(data.length > 0
        ? formatDataLines(data)
        : ["  (none yet: `quilt add PATH` adds a file or directory)"]),
    );
    if (ws.staleFiles.length > 0) {
      human.push("", `Changed since hashed (${ws.staleFiles.length}; the next build hashes them again):`);
      human.push(
        ...ws.staleFiles.slice(0, 20).map((p) => `  ${userPath(p)}${existsSync(p) ? "" : " (missing)"}`),
      );
      if (ws.staleFiles.length > 20) human.push(`  ... ${ws.staleFiles.length - 20} more`);
    }
  }
  ctx.print(human, {
    kind: "workspace",
    workspace: root,
    name: b.name,
    registry: b.registry.url,
    state: pushed ? "pushed" : top !== undefined ? "built" : "pre-manifest",
    topHash: top ?? null,
    package: pushed ? { name: b.name, tag: pushed.tag ?? null, manifest: pushed.url } : null,
    dataMatchesManifest: pushed !== undefined,
    hasLocalFiles: b.hasLocalFiles(),
    entries: snap.entries.map((e) => ({
      logicalKey: e.logicalKey,
      source: e.source.toString(),
      size: e.size ?? null,
      hash: e.hash?.get("value") ?? null,
    })),
    data: data.map(([logicalKey, source]) => ({ logicalKey, source })),
    staleFiles: ws.staleFiles,
  });
  // A builder that is simply not pushed yet is not a difference; files edited since they
  // were hashed are (the manifest would not describe them).
  ctx.exitCode = ws.staleFiles.length > 0 ? EXIT_DIFFERENCE : EXIT_OK;
  return true;
}
