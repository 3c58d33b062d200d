// Child of manifest-index-build.test.ts: starts indexing a version, commits some pages, and
// dies by kill -9 before the version's header is written, as a daemon killed mid-build would.
import { ManifestIndex } from "../../src/storage/manifest-index.js";
import { crashManifest, crashId } from "./manifest-index-fixtures.js";

const [dir] = process.argv.slice(2);
const index = ManifestIndex.open(dir as string);
const m = crashManifest();
const w = index.writer(crashId(m), 1);
for (const e of m.entries.slice(0, m.entries.length - 10)) w.add(e);
process.kill(process.pid, "SIGKILL");
