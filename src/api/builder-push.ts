// A builder's way out: its data copied into the registry, the workflow checked, the
// manifest written and tagged, or nothing pushed when the registry's latest is this version
// already (dedupe); or taken as a Package without a push (asPackage), which is refused while
// it points at local files or is not pushed, unless the caller says so explicitly, since
// others could not read the files or find the manifest. PackageBuilder's push methods
// (package-builder.ts) delegate here.
import { QuiltError } from "../errors.js";
import type { Manifest } from "../manifest/manifest.js";
import { manifestJson } from "../manifest/python-json.js";
import type { RegistryUrl } from "../manifest/registry-url.js";
import { shortHash } from "../manifest/version-label.js";
import type { Session } from "../session.js";
import { LATEST } from "../storage/registry-pointers.js";
import type { WorkflowChoice } from "../workflows/workflow-validator.js";
import { headerWithMessage, manifestFromHashed } from "./build-manifest.js";
import type { BuilderParts } from "./builder-parts.js";
import type { BuilderEntry } from "./builder-sources.js";
import { headerWithWorkflow } from "./builder-workflow.js";
import { Package } from "./package.js";
import { pushData, type PushDataOptions, type PushedEntry } from "./push-data.js";
import { pushReport } from "./push-report.js";

export const LOCAL_FILES_ERROR =
  "Manifest contains pointers to local files. Use pushData() to first push those files to s3 or use allowLocalFiles: true if this is intentional";
export const LOCAL_MANIFEST_ERROR =
  "The manifest has not been pushed to a remote repository. Use pushManifest() to first push the manifest to s3 or use allowLocalManifest: true if this is intentional";

export interface PushManifestOptions {
  tag?: string;
  message?: string;
  forceAllowLocalFiles?: boolean;
  /** Push nothing when the registry's latest is this version already (quilt3's `dedupe`). */
  dedupe?: boolean;
  /** The registry's workflow to check: an ID; undefined for its default; null for none (quilt3's None). */
  workflow?: WorkflowChoice;
}

/** The builder as a push sees it: where it goes, what it holds, and how to build it. */
export interface Pushable {
  readonly name: string;
  readonly defaultTag: string | undefined;
  readonly registry: RegistryUrl;
  readonly session: Session;
  readonly parts: BuilderParts;
  output(line: string): void;
  buildManifest(): Promise<string>;
  hasLocalFiles(): boolean;
}

export async function pushBuilderData(b: Pushable, opts: PushDataOptions): Promise<PushedEntry[]> {
  const p = b.parts;
  const registry = b.session.registry(b.registry);
  const before = p.built;
  const pushed = await pushData(b.session.stores, registry, b.name, [...p.entries.values()], opts);
  for (const line of pushReport(pushed)) b.output(line);
  // Physical keys changed but hashes did not, so the top hash stays; the manifest is re-made, not re-hashed.
  const moved = pushed.some((x) => !x.from.equals(x.entry.source));
  if (before && moved)
    p.built = manifestFromHashed(headerWithMessage(p.header), p.dirMeta, [...p.entries.values()]);
  if (moved) p.pushed = undefined;
  return pushed;
}

/** See PackageBuilder.checkWorkflow. */
export async function checkBuilderWorkflow(
  b: Pushable,
  opts: { workflow?: WorkflowChoice; message?: string },
): Promise<void> {
  const p = b.parts;
  if (p.checked && p.checked.workflow === opts.workflow && p.checked.message === opts.message) return;
  const current = p.header.get("message");
  const header = await headerWithWorkflow(
    b.session.stores,
    b.registry,
    b.name,
    p.header,
    [...p.entries.values()],
    {
      workflow: opts.workflow,
      message: opts.message ?? (typeof current === "string" ? current : null),
    },
  );
  if (opts.message !== undefined || !header.has("message")) header.set("message", opts.message ?? null);
  if (manifestJson(header) !== manifestJson(p.header)) {
    p.header = header;
    p.pushed = undefined;
    // Only the header changed: the entries keep their hashes, so no file is hashed again.
    if (p.built) p.built = manifestFromHashed(header, p.dirMeta, [...p.entries.values()]);
  }
  p.checked = { workflow: opts.workflow, message: opts.message };
}

/** See PackageBuilder.pushManifest. */
export async function pushBuilderManifest(b: Pushable, options: PushManifestOptions): Promise<Package> {
  const p = b.parts;
  const tag = options.tag ?? b.defaultTag;
  const opts = { ...options, ...(tag !== undefined && { tag }) };
  if (b.hasLocalFiles() && !opts.forceAllowLocalFiles) {
    throw new QuiltError(
      "EUSAGE",
      "Manifest contains pointers to local files. Use pushData() to first push those files to s3 or forceAllowLocalFiles: true if this is intentional",
    );
  }
  await checkBuilderWorkflow(b, { workflow: opts.workflow, message: opts.message });
  if (!p.built) await b.buildManifest();
  const manifest = p.built as Manifest;
  const registry = b.session.registry(b.registry);
  if (opts.dedupe) {
    const latest = await sameAsLatest(b);
    if (latest) return latest;
  }
  const url = registry.manifestUrl(b.name, manifest.topHash);
  b.output(`Pushing manifest to ${url}`);
  await registry.pushManifest(b.name, manifest, { ...(opts.tag !== undefined && { tag: opts.tag }) });
  if (opts.tag !== undefined)
    b.output(`Linking ${b.name}:${opts.tag} to manifest ${shortHash(manifest.topHash)}`);
  p.pushed = { url, ...(opts.tag !== undefined && { tag: opts.tag }) };
  return Package.fromManifest(b.session, b.registry, b.name, opts.tag ?? "latest", manifest, url);
}

/** See PackageBuilder.pushDataAndManifest. */
export async function pushBuilder(
  b: Pushable,
  opts: PushDataOptions & PushManifestOptions,
): Promise<Package> {
  await checkBuilderWorkflow(b, { workflow: opts.workflow, message: opts.message });
  if (opts.dedupe) {
    const latest = await sameAsLatest(b);
    if (latest) return latest;
  }
  await pushBuilderData(b, opts);
  return pushBuilderManifest(b, {
    ...(opts.tag !== undefined && { tag: opts.tag }),
    ...(opts.message !== undefined && { message: opts.message }),
    workflow: opts.workflow,
  });
}

/** See PackageBuilder.sameAsLatest. */
export async function sameAsLatest(b: Pushable): Promise<Package | undefined> {
  const topHash = b.parts.built?.topHash ?? (await b.buildManifest());
  const registry = b.session.registry(b.registry);
  const latest = await registry.readPointer(b.name, LATEST);
  if (latest?.topHash !== topHash) return undefined;
  b.output(
    `Skipping since package with hash ${topHash} already exists at the destination and dedupe parameter is true.`,
  );
  const manifest = await registry.loadManifest(latest);
  const url = registry.manifestUrl(b.name, topHash, latest.layout);
  return Package.fromManifest(b.session, b.registry, b.name, LATEST, manifest, url);
}

/** Entries pointing at local files outside the registry (data in a local registry counts as pushed). */
export function pointsAtLocalFiles(registry: RegistryUrl, entries: Iterable<BuilderEntry>): boolean {
  const inRegistry = registry.kind === "file" ? registry.dir.replace(/\/$/, "") + "/" : undefined;
  return [...entries].some(
    (e) => e.source.isLocal() && (inRegistry === undefined || !e.source.path.startsWith(inRegistry)),
  );
}

/** The builder as a Package: refused while it points at local files or is not pushed, unless allowed. */
export async function builderAsPackage(
  b: Pushable,
  opts: { allowLocalFiles?: boolean; allowLocalManifest?: boolean },
): Promise<Package> {
  if (b.hasLocalFiles() && !opts.allowLocalFiles) throw new QuiltError("EUSAGE", LOCAL_FILES_ERROR);
  if (!b.parts.pushed && !opts.allowLocalManifest) throw new QuiltError("EUSAGE", LOCAL_MANIFEST_ERROR);
  if (!b.parts.built) await b.buildManifest();
  const manifest = b.parts.built as Manifest;
  return Package.fromManifest(
    b.session,
    b.registry,
    b.name,
    b.parts.pushed?.tag,
    manifest,
    b.parts.pushed?.url ?? "local",
  );
}
