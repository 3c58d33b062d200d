// Where packages are registered: an S3 bucket (`s3://bucket`) or a local directory
// (`file:///abs/dir`, or a path). The default is quilt3's own local registry directory, so
// that both tools see the same local packages. A bare name ("mybucket") must be an existing
// directory: otherwise it is refused with a hint rather than taken for a directory to create.
import { statSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { pathToFileURL, fileURLToPath } from "node:url";
import { QuiltError } from "../errors.js";
import { quoted } from "../untrusted-text.js";

export type RegistryUrl =
  { kind: "s3"; bucket: string; url: string } | { kind: "file"; dir: string; url: string };

const HINT = "a registry is s3://bucket, file:///absolute/dir or a local directory path";
const BUCKET_RE = /^[a-z0-9][a-z0-9.\-_]{1,254}$/i;

/** quilt3: platformdirs.user_data_dir("Quilt") + "/packages" (XDG_DATA_HOME honoured). */
export function defaultLocalRegistryDir(env: NodeJS.ProcessEnv = process.env): string {
  const dataHome =
    env.XDG_DATA_HOME && isAbsolute(env.XDG_DATA_HOME)
      ? env.XDG_DATA_HOME
      : join(env.HOME || homedir(), ".local", "share");
  return join(dataHome, "Quilt", "packages");
}

/** --registry, else QUILT_REGISTRY, else quilt3's local registry. */
export function resolveRegistry(explicit?: string, env: NodeJS.ProcessEnv = process.env): RegistryUrl {
  const chosen = explicit ?? env.QUILT_REGISTRY;
  return chosen
    ? parseRegistryUrl(chosen)
    : parseRegistryUrl(pathToFileURL(defaultLocalRegistryDir(env)).href);
}

/** A bare name ("mybucket"): no "/", not "." or "..", not "~": what could be a bucket as well as a directory. */
function isBareName(input: string): boolean {
  return input !== "" && !input.includes("/") && input !== "." && input !== ".." && !input.startsWith("~");
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

export function parseRegistryUrl(input: string): RegistryUrl {
  if (input.startsWith("s3://")) {
    const bucket = input.slice(5).replace(/\/+$/, "");
    if (!BUCKET_RE.test(bucket)) {
      throw new QuiltError("EBADSPEC", `Invalid S3 registry ${quoted(input)}: expected s3://bucket`, {
        hint: HINT,
      });
    }
    return { kind: "s3", bucket, url: `s3://${bucket}` };
  }
  let dir: string;
  if (input.startsWith("file://")) {
    try {
      dir = fileURLToPath(input);
    } catch (err) {
      throw new QuiltError("EBADSPEC", `Invalid file registry ${quoted(input)}: ${(err as Error).message}`, {
        hint: HINT,
      });
    }
  } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(input)) {
    throw new QuiltError("EBADSPEC", `Unsupported registry ${quoted(input)}`, { hint: HINT });
  } else {
    if (isBareName(input) && !isDirectory(resolve(input))) {
      // quilt3 takes "mybucket" for a directory under the current one and finds nothing
      // there; here the name is neither, so which was meant is asked rather than guessed.
      throw new QuiltError(
        "EBADSPEC",
        `Registry ${quoted(input)} is not an existing directory, and an S3 registry is written s3://BUCKET`,
        { hint: `for the bucket write s3://${input}; for a new local directory write ./${input}` },
      );
    }
    dir = resolve(input);
  }
  dir = dir.length > 1 ? dir.replace(/\/+$/, "") : dir;
  return { kind: "file", dir, url: pathToFileURL(dir).href };
}
