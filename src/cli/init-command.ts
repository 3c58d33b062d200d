// `quilt init NAME`: makes the current directory a builder workspace for package NAME,
// with the builder's state in .quilt/ (like git). Refused inside another workspace, in an
// installed package directory (its .quilt/ is the install record) and at the root of a
// local registry (its .quilt/ holds the registry).
import { existsSync } from "node:fs";
import { join } from "node:path";
import { PackageBuilder } from "../api/package-builder.js";
import { STATE_DIR } from "../api/safe-path.js";
import { QuiltError } from "../errors.js";
import { defineCommand } from "./command.js";
import { withRegistry } from "./registry-option.js";
import { findInstalledRoot, findWorkspaceRoot, Workspace, workspaceStatePath } from "./workspace.js";

export const initCommand = defineCommand({
  builder: (y) =>
    withRegistry(y)
      .positional("name", {
        type: "string",
        demandOption: true,
        describe: "Package name: namespace/name (with :tag, pushes default to that tag)",
      })
      .option("message", {
        alias: "m",
        type: "string",
        requiresArg: true,
        describe: "Commit message of the package version to push",
      })
      .example("quilt init bucket/dataset --registry s3://bucket", "start a package pushed to s3://bucket")
      .example("quilt init me/notes", "start a package in the local registry"),
  async handler(args, ctx) {
    const cwd = process.cwd();
    const existing = findWorkspaceRoot(cwd);
    if (existing !== undefined) {
      throw new QuiltError("EUSAGE", `Already in a quilt workspace: ${workspaceStatePath(existing)}`, {
        hint: "`quilt status` shows what it builds; to start over, remove that .quilt/workspace.json",
      });
    }
    const installed = findInstalledRoot(cwd);
    if (installed !== undefined) {
      throw new QuiltError(
        "EUSAGE",
        `${installed} holds an installed package (${join(STATE_DIR, "installed.json")}); a workspace there would mix with it`,
        {
          hint: "run `quilt init` in a directory outside the installed package",
        },
      );
    }
    if (existsSync(join(cwd, STATE_DIR, "packages")) || existsSync(join(cwd, STATE_DIR, "named_packages"))) {
      throw new QuiltError(
        "EUSAGE",
        `${cwd} is the root of a local registry (${STATE_DIR}/ holds its packages)`,
        {
          hint: "run `quilt init` in another directory",
        },
      );
    }
    const builder = new PackageBuilder(args.name, {
      session: ctx.quilt,
      registry: ctx.quilt.registryUrl(ctx.globals.registry).url,
    });
    if (args.message !== undefined) builder.setMessage(args.message);
    await Workspace.create(cwd, builder);
    ctx.print([`New PackageBuilder ${args.name} created`, `Pushes go to ${builder.registry.url}`], {
      workspace: cwd,
      name: builder.name,
      tag: builder.defaultTag ?? null,
      registry: builder.registry.url,
    });
  },
});
