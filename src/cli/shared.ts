// Pieces every package-naming command shares: the --registry option, turning a spec into
// a browsed Package (with the path a quilt+ URI names, for the commands that take one), and
// the one-line label used in messages.
import { browsePath } from "../api/browse-path.js";
import { Package } from "../api/package.js";
import { QuiltError } from "../errors.js";
import type { CommandContext } from "./context.js";

/** Browses NAME (ns/name[:tag][@hash] or a full URL) in the command's registry. */
export function openPackage(ctx: CommandContext, spec: string): Promise<Package> {
  return Package.browse(spec, { registry: ctx.globals.registry, session: ctx.quilt });
}

/**
 * For the commands that take a path inside the package (PATH_COMMANDS): browses SPEC, whose
 * quilt+ URI may name that path (`&path=`), and returns that path (checked to be in the
 * version), or undefined when it names none and the command's own argument `given` (called
 * `what` in messages) applies. Both at once are refused, before anything is fetched.
 */
export async function openPackageAt(
  ctx: CommandContext,
  spec: string,
  given: string | string[] | undefined,
  what: string,
): Promise<{ pkg: Package; path: string | undefined }> {
  const named = ctx.quilt.parseSpec(spec, ctx.globals.registry, true).path;
  const hasGiven = given !== undefined && !(Array.isArray(given) && given.length === 0);
  if (named !== undefined && hasGiven) {
    throw new QuiltError("EUSAGE", `The URI names a path (path=${named}) and ${what} is given too`, {
      hint: `give one of them: the URI's path= or ${what}`,
    });
  }
  const { package: pkg, path } = await browsePath(spec, {
    registry: ctx.globals.registry,
    session: ctx.quilt,
  });
  return { pkg, path };
}

/** A quilt+ URI with a `path=`: yargs checks use it where the path stands for a required argument. */
export function uriHasPath(spec: unknown): boolean {
  return typeof spec === "string" && /^quilt\+[^#]*#(.*&)?path=[^&]/s.test(spec);
}
