// Where packages are registered: an S3 bucket (`s3://bucket`) or a local directory
// (`file:///abs/dir`). The default is quilt3's own local registry directory, so that both
// tools see the same local packages.
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
    dir = resolve(input);
  }
  dir = dir.length > 1 ? dir.replace(/\/+$/, "") : dir;
  return { kind: "file", dir, url: pathToFileURL(dir).href };
}
