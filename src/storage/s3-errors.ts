// Turns what the S3 SDK throws into the store's QuiltError codes. The same HTTP answer
// means different things depending on the pin: a 404 for a read pinned to a versionId means
// the version we were promised is gone (ESTALE), for an unpinned read it is ENOTFOUND.
// HEAD responses have no body, so only their status code is known (name "NotFound"/"Unknown").
import { QuiltError } from "../errors.js";
import type { ObjectLocation } from "./object-store.js";
import {
  RetriesExhausted,
  describeError,
  errorNameOf,
  exhaustedToQuiltError,
  httpStatusOf,
  type EndpointInfo,
} from "./retry.js";
import { describeLocation } from "./store-helpers.js";

const CREDENTIAL_ERRORS = new Set([
  "CredentialsProviderError",
  "ExpiredToken",
  "ExpiredTokenException",
  "InvalidAccessKeyId",
  "SignatureDoesNotMatch",
  "TokenRefreshRequired",
]);

export interface S3ErrorContext {
  op: string;
  loc: Pick<ObjectLocation, "bucket" | "key"> & Partial<ObjectLocation>;
  endpoint: EndpointInfo;
}

export function mapS3Error(err: unknown, ctx: S3ErrorContext): QuiltError {
  if (err instanceof QuiltError) return err;
  const what = `${ctx.op} s3://${describeLocation(ctx.loc)}`;
  if (err instanceof RetriesExhausted) {
    // A 503 that survives every retry is still a service failure; only the kind matters here.
    return exhaustedToQuiltError(err, what, ctx.endpoint);
  }
  const status = httpStatusOf(err);
  const name = errorNameOf(err) ?? "";
  const detail = describeError(err);
  const pinnedVersion = ctx.loc.versionId !== undefined;

  if (name === "AbortError") return new QuiltError("EABORTED", `${what}: aborted`, { cause: err });
  if (name === "NoSuchBucket") {
    return new QuiltError("ENOTFOUND", `${what}: no such bucket ${ctx.loc.bucket}`, {
      cause: err,
      hint: "Check the bucket name and the region/endpoint.",
    });
  }
  if (status === 412 || name === "PreconditionFailed") {
    return new QuiltError("ESTALE", `${what}: the object changed since it was pinned`, { cause: err });
  }
  if (
    pinnedVersion &&
    (name === "NoSuchVersion" || status === 404 || status === 405 || name === "InvalidArgument")
  ) {
    // 405 MethodNotAllowed: the pinned version is now a delete marker. 400 InvalidArgument:
    // the version id is malformed for this bucket (e.g. versioning was never enabled).
    return new QuiltError("ESTALE", `${what}: the pinned version no longer exists (${detail})`, {
      cause: err,
    });
  }
  if (name === "NoSuchKey" || name === "NotFound" || status === 404) {
    return new QuiltError("ENOTFOUND", `${what}: no such object`, { cause: err });
  }
  if (CREDENTIAL_ERRORS.has(name)) {
    return new QuiltError("ESTORAGE", `${what}: ${detail}`, {
      cause: err,
      hint: "Check AWS credentials: AWS_PROFILE or the profile option, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or `aws sso login`.",
    });
  }
  if (status === 403 || name === "AccessDenied") {
    return new QuiltError("ESTORAGE", `${what}: access denied`, {
      cause: err,
      hint: "The credentials in use may lack s3:GetObject/s3:ListBucket/s3:PutObject on this bucket; check AWS_PROFILE.",
    });
  }
  return new QuiltError("ESTORAGE", `${what}: ${detail}`, { cause: err });
}
