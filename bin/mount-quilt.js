#!/usr/bin/env node
// The body of bin/mount.quilt (mount(8)'s helper, src/cli/mount-helper.ts); Node needs a
// .js name to load it as a module, mount(8) needs the name mount.quilt or mount.fuse.quilt.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
const { runMountHelper } = await import("../dist/src/cli/mount-helper.js");
process.exitCode = await runMountHelper(process.argv.slice(2));
