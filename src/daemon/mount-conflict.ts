// A mount request at a mount point the daemon already serves. The same version, registry
// and options again (a retried script, a second `quilt mount` in a job) is nothing to do,
// and not an error; anything else is a conflict, whose hint says how to resolve it.
import { QuiltError } from "../errors.js";
import { shortHash } from "../manifest/version-label.js";
import type { MountRecord } from "./mount-records.js";
import type { MountRequest } from "./mount-request.js";

/** Returns when `req` (resolved to `topHash`) asks for what `r` mounts; else throws EBUSY. */
export function checkSameMount(r: MountRecord, req: MountRequest, topHash: string): void {
  const { spec } = req;
  const same =
    r.registry === spec.registry.url &&
    r.name === spec.name &&
    r.topHash === topHash &&
    (r.verify ?? "default") === (req.verify ?? "default") &&
    (r.allowOther ?? false) === req.allowOther;
  if (same) return;
  // Another version of the same registry: a switch moves the mount without unmounting it.
  const switchable = r.registry === spec.registry.url && (r.name !== spec.name || r.topHash !== topHash);
  const target = `${spec.name}${spec.tag !== undefined ? `:${spec.tag}` : ""}${spec.hash !== undefined ? `@${spec.hash}` : ""}`;
  throw new QuiltError(
    "EBUSY",
    `${r.mountpoint} is already mounted (${r.name}@${shortHash(r.topHash)}${r.verify === "strict" ? ", --verify strict" : ""})`,
    {
      hint: `unmount it first: quilt unmount ${r.mountpoint}${switchable ? `; or switch it to that version in place: quilt switch ${r.mountpoint} ${target}` : ""}`,
    },
  );
}
