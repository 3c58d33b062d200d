// The programs scripts/bench-scale-publish.ts times, one fresh process each: quilt3's side
// in Python (its arguments as JSON on stdin) and our library's side as an ES module run by
// plain Node against dist/ (its arguments as JSON in BENCH_JOB), so neither pays for a
// compiler the other does not. Each prints one JSON line of what it saw, which the
// benchmark checks against the other tool.

const QUILT3_PRELUDE = `
import json, sys
import quilt3
ARGS = json.loads(sys.stdin.read())
def browse(tag):
    # quilt3 resolves only "latest" by name: read the tag's pointer for its top hash.
    from quilt3.util import PhysicalKey
    from quilt3.data_transfer import get_bytes
    top = get_bytes(PhysicalKey.from_url(ARGS["registry"] + "/.quilt/named_packages/" + ARGS["name"] + "/" + tag)).decode().strip()
    return quilt3.Package.browse(ARGS["name"], registry=ARGS["registry"], top_hash=top)
`;

export const QUILT3_SCRIPTS = {
  build: `${QUILT3_PRELUDE}
p = quilt3.Package().set_dir("/", ARGS["source"], unversioned=True)
top = p.build(ARGS["name"], registry=ARGS["registry"])
print(json.dumps({"entries": len(list(p.walk())), "top_hash": top}))
`,
  browse: `${QUILT3_PRELUDE}
p = browse(ARGS["spec"])
print(json.dumps({"top_hash": p.top_hash}))
`,
  ls: `${QUILT3_PRELUDE}
p = browse(ARGS["spec"])
d = p[ARGS["dir"].rstrip("/")] if ARGS["dir"] else p
print(json.dumps({"children": len(list(d.keys()))}))
`,
  diff: `${QUILT3_PRELUDE}
a = browse(ARGS["a"])
b = browse(ARGS["b"])
added, modified, deleted = a.diff(b)
print(json.dumps({"added": len(added), "modified": len(modified), "deleted": len(deleted)}))
`,
} as const;

const LIBRARY_PRELUDE = `
const job = JSON.parse(process.env.BENCH_JOB);
const q = await import(job.dist);
const context = new q.Session();
`;

export const LIBRARY_SCRIPTS = {
  build: `${LIBRARY_PRELUDE}
const b = new q.PackageBuilder(job.name, { registry: job.registry, session: context });
await b.add(job.source, "");
const pkg = await b.pushManifest({ tag: job.tag });
console.log(JSON.stringify({ entries: b.size, top_hash: pkg.hash }));
await context.close();
`,
  browse: `${LIBRARY_PRELUDE}
const pkg = await q.Package.browse(job.spec, { registry: job.registry, session: context });
console.log(JSON.stringify({ top_hash: pkg.hash, entries: pkg.manifest.size }));
await context.close();
`,
} as const;
