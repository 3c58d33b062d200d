// A registry's workflows config, `.quilt/workflows/config.yml` at the root of the bucket or
// of the local registry directory, loaded as quilt3's WorkflowConfig.load does: absent means
// "no workflows"; otherwise it must be YAML that quilt3's config schema accepts, of config
// version 1.1 or older. Remembered with the version read (S3 versionId), since that URL is
// what a push records in the manifest. Schemas the config names are loaded the same way,
// each once per config.
import { realpath } from "node:fs/promises";
import { CORE_SCHEMA, load as loadYaml } from "js-yaml";
import { QuiltError, isQuiltError } from "../errors.js";
import { fromPlain } from "../manifest/json-value.js";
import { PhysicalKey } from "../manifest/physical-key.js";
import type { RegistryUrl } from "../manifest/registry-url.js";
import type { Stores } from "../storage/stores.js";
import { quoted } from "../untrusted-text.js";
import { WORKFLOWS_CONFIG_SCHEMA } from "./config-schema.js";
import { JsonSchema } from "./json-schema.js";
import { pythonStrRepr } from "./python-repr.js";

export const WORKFLOWS_CONFIG_PATH = ".quilt/workflows/config.yml";
/** The newest config version quilt3 8.0 reads (WorkflowConfig.CONFIG_DATA_VERSION). */
const SUPPORTED_VERSION = [1, 1, 0];
const CONFIG_HINT = `fix the registry's ${WORKFLOWS_CONFIG_PATH} (quilt3's format: https://docs.quilt.bio/advanced-usage/workflows)`;

export interface WorkflowEntry {
  name: string;
  handle_pattern?: string;
  metadata_schema?: string;
  entries_schema?: string;
  is_message_required?: boolean;
}

export interface WorkflowsConfigData {
  version: string | { base: string };
  workflows: Record<string, WorkflowEntry>;
  default_workflow?: string;
  is_workflow_required?: boolean;
  schemas?: Record<string, { url: string }>;
}

/** Bytes at `pk` and the key naming what was read: an S3 key gains the versionId it had. */
async function readPinned(stores: Stores, pk: PhysicalKey): Promise<{ bytes: Buffer; pk: PhysicalKey }> {
  const { store, loc } = stores.forPhysicalKey(pk);
  if (pk.bucket === null) return { bytes: await store.get(loc), pk };
  const head = await store.head(loc);
  const versionId = loc.versionId ?? head.versionId;
  const bytes = await store.get({ ...loc, ...(versionId !== undefined && { versionId }) });
  return { bytes, pk: PhysicalKey.s3(pk.bucket, pk.path, versionId ?? null) };
}

/** quilt3 names local files by their real path (PhysicalKey.from_path). */
async function realLocal(path: string): Promise<PhysicalKey> {
  return PhysicalKey.local(await realpath(path).catch(() => path));
}

function parseVersion(text: string): number[] {
  return [...text.split(".").map(Number), 0, 0].slice(0, 3);
}

function newerThanSupported(v: number[]): boolean {
  for (let i = 0; i < 3; i++)
    if (v[i] !== SUPPORTED_VERSION[i]) return (v[i] ?? 0) > (SUPPORTED_VERSION[i] ?? 0);
  return false;
}

export class WorkflowConfig {
  private readonly schemas = new Map<string, Promise<{ schema: JsonSchema; pk: PhysicalKey }>>();

  private constructor(
    private readonly stores: Stores,
    readonly data: WorkflowsConfigData,
    /** Where the config was read, as quilt3 records it (with the S3 version). */
    readonly physicalKey: PhysicalKey,
  ) {}

  /** The registry's config, or undefined when it has none. */
  static async load(stores: Stores, registry: RegistryUrl): Promise<WorkflowConfig | undefined> {
    const where =
      registry.kind === "s3"
        ? PhysicalKey.s3(registry.bucket, WORKFLOWS_CONFIG_PATH)
        : await realLocal(`${registry.dir}/${WORKFLOWS_CONFIG_PATH}`);
    let read: { bytes: Buffer; pk: PhysicalKey };
    try {
      read = await readPinned(stores, where);
    } catch (err) {
      if (isQuiltError(err, "ENOTFOUND")) return undefined;
      if (!isQuiltError(err) || registry.kind === "file") throw err;
      throw new QuiltError(err.code, `Couldn't load workflows config. ${err.message}.`, {
        hint: err.hint ?? CONFIG_HINT,
        cause: err,
      });
    }
    let data: unknown;
    try {
      // YAML 1.2 core types: no timestamps or other values that are not JSON.
      data = loadYaml(read.bytes.toString("utf8"), { schema: CORE_SCHEMA });
    } catch (err) {
      throw new QuiltError("EWORKFLOWCONFIG", "Couldn't parse workflows config as YAML.", {
        hint: `${CONFIG_HINT}: ${(err as Error).message.split("\n")[0]}`,
        cause: err,
      });
    }
    const configSchema = JsonSchema.builtIn(WORKFLOWS_CONFIG_SCHEMA, "config");
    const failure = configSchema.check(fromPlain(data ?? null));
    if (failure)
      throw new QuiltError("EWORKFLOWCONFIG", `Workflows config failed validation: ${failure.message}.`, {
        hint: CONFIG_HINT,
      });
    const config = data as WorkflowsConfigData;
    const versionText = typeof config.version === "string" ? config.version : config.version.base;
    const version = parseVersion(versionText);
    if (newerThanSupported(version))
      throw new QuiltError("EWORKFLOWCONFIG", `Version '${version.join(".")}' is not supported`, {
        hint: "this config needs a newer quilt3; versions up to 1.1 are supported",
      });
    return new WorkflowConfig(stores, config, read.pk);
  }

  /** The schema the config calls `id`, loaded and checked once. */
  schema(id: string): Promise<{ schema: JsonSchema; pk: PhysicalKey }> {
    let p = this.schemas.get(id);
    if (!p) {
      p = this.loadSchema(id);
      this.schemas.set(id, p);
    }
    return p;
  }

  private schemaKey(id: string): PhysicalKey {
    const entry = this.data.schemas?.[id];
    if (!entry || !Object.hasOwn(this.data.schemas ?? {}, id))
      throw new QuiltError("EWORKFLOWCONFIG", `There is no ${pythonStrRepr(id)} in schemas.`, {
        hint: CONFIG_HINT,
      });
    let pk: PhysicalKey;
    try {
      pk = PhysicalKey.fromUrl(entry.url);
    } catch (err) {
      throw new QuiltError("EWORKFLOWCONFIG", `Couldn't parse URL ${pythonStrRepr(entry.url)}.`, {
        hint: "a schema URL is s3://bucket/key (or file:///absolute/path for a local registry)",
        cause: err,
      });
    }
    if (pk.bucket === null && this.physicalKey.bucket !== null)
      throw new QuiltError(
        "EWORKFLOWCONFIG",
        `Local schema ${pythonStrRepr(pk.toString())} can't be used on the remote registry.`,
        { hint: "put the schema in S3 and name it with an s3:// URL" },
      );
    return pk;
  }

  private async loadSchema(id: string): Promise<{ schema: JsonSchema; pk: PhysicalKey }> {
    let pk = this.schemaKey(id);
    if (pk.bucket === null) pk = await realLocal(pk.path);
    let read: { bytes: Buffer; pk: PhysicalKey };
    try {
      read = await readPinned(this.stores, pk);
    } catch (err) {
      if (!isQuiltError(err)) throw err;
      throw new QuiltError(
        err.code === "ENOTFOUND" ? "EWORKFLOWCONFIG" : err.code,
        `Couldn't load schema at ${pk.toString()}.`,
        { hint: `${quoted(err.message)}; ${CONFIG_HINT}`, cause: err },
      );
    }
    return { schema: JsonSchema.compile(read.bytes, id, pk.toString()), pk: read.pk };
  }
}
