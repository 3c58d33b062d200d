// The library's public surface: `import { Package, PackageBuilder } from "quilt"`.
export { Package, type BrowseOptions, type VerifyReport } from "./api/package.js";
export { browsePath, type BrowsedPath } from "./api/browse-path.js";
export { PackageBuilder, type BuilderOptions } from "./api/package-builder.js";
export { PackageEntry, PackageDirectory } from "./api/package-entry.js";
export {
  listPackages,
  listPackageVersions,
  deletePackage,
  type PackageVersion,
  type RegistryOptions,
  type DeleteOptions,
  type DeleteResult,
} from "./api/package-versions.js";
export { Session, configure, getDefaultSession, type SessionOptions } from "./session.js";
export { formatChanges, type Change } from "./api/force-match.js";
export type { PackageDiff } from "./api/diff.js";
export type { DownloadResult, TransferProgress } from "./api/download.js";
export type { CacheOptions, CacheResult, CacheProgress, CacheEntryError } from "./api/cache-entries.js";
export { exportManifest, type ExportOptions, type ExportResult } from "./api/manifest-export.js";
export { EXPORT_FORMATS, type ExportFormat } from "./api/export-writers.js";
export { EXPORT_COLUMNS, type ExportRow } from "./api/export-rows.js";
export { QuiltError, isQuiltError, type ErrorCode } from "./errors.js";
export type { WorkflowChoice } from "./workflows/workflow-validator.js";
