// Which S3 endpoint the user configured, read from options and the environment only: the
// CLI resolves it in the user's shell (quilt mount) without loading the AWS SDK.
/** The endpoint the user configured, and where it came from (for hints). */
export function configuredEndpoint(
  opts: { endpoint?: string; endpointSource?: string; configuredEndpoints?: boolean },
  env: NodeJS.ProcessEnv = process.env,
): { url: string; source: string } | undefined {
  if (opts.endpoint) return { url: opts.endpoint, source: opts.endpointSource ?? "the endpoint option" };
  if (opts.configuredEndpoints === false) return undefined;
  // The SDK honours this switch for its own env/config endpoint lookup; so do we.
  if (env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS?.toLowerCase() === "true") return undefined;
  if (env.AWS_ENDPOINT_URL_S3) return { url: env.AWS_ENDPOINT_URL_S3, source: "AWS_ENDPOINT_URL_S3" };
  if (env.AWS_ENDPOINT_URL) return { url: env.AWS_ENDPOINT_URL, source: "AWS_ENDPOINT_URL" };
  return undefined;
}
