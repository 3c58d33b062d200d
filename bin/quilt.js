#!/usr/bin/env node
// The `quilt` executable: runs the compiled CLI (npm run build) and exits with its status.
// The AWS SDK's notice about future Node versions is not the user's business here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
// A reader that stops early (`quilt cat ... | head`) closes the pipe: end quietly, as cat does.
process.stdout.on("error", (err) => {
  if (err.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw err;
});
const { main, interrupted } = await import("../dist/src/cli/main.js");
// Ctrl-C: an error like any other (exit 130), not a silent death. `quilt daemon run`
// replaces this with its own graceful shutdown.
process.once("SIGINT", () => process.exit(interrupted()));
process.exitCode = await main(process.argv.slice(2));
