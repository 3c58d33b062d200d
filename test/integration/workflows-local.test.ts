// Workflows on a local registry, through the library, against the real quilt3's `build`
// (which reads the config from the registry's .quilt/workflows/config.yml too, with file:///
// schemas): the default workflow, an explicit "none" where the config allows it, and a
// metadata refusal, each compared with what quilt3 does with the same package.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { PackageBuilder } from "../../src/index.js";
import { runQuilt3Json } from "../helpers/quilt3.js";
import { cleanupAll, tempRoot } from "../helpers/usecase-support.js";
import { Session } from "../../src/session.js";

afterAll(cleanupAll);

function setup(): { registry: string; data: string; ctx: Session } {
  const root = tempRoot("wf-local");
  const registry = join(root, "registry");
  const wf = join(registry, ".quilt", "workflows");
  mkdirSync(wf, { recursive: true });
  const schema = join(wf, "meta.json");
  writeFileSync(schema, '{"type": "object", "properties": {"owner": {"type": "string"}}}');
  writeFileSync(
    join(wf, "config.yml"),
    `version: "1"
is_workflow_required: false
default_workflow: checked
workflows:
  checked:
    name: Checked
    metadata_schema: meta
schemas:
  meta:
    url: ${pathToFileURL(schema).href}
`,
  );
  const data = join(root, "data");
  mkdirSync(data);
  writeFileSync(join(data, "a.txt"), "alpha\n");
  writeFileSync(join(data, "b.txt"), "beta\n");
  const ctx = new Session({ cacheDir: join(root, "cache") });
  return { registry, data, ctx };
}

/** quilt3 builds `data` into the local registry; its top hash and header line, or its error. */
async function quilt3Build(
  registry: string,
  data: string,
  meta: unknown,
  workflow?: null,
): Promise<{ top_hash?: string; header?: string; error?: string }> {
  return runQuilt3Json(
    `import contextlib, os
from quilt3 import Package
A = ARGS
p = Package()
p.set_dir("", A["data"])
p.set_meta(A["meta"])
kw = {"workflow": None} if A["none"] else {}
try:
    with contextlib.redirect_stdout(sys.stderr):
        top = p.build("ns/local", registry="file://" + A["registry"], message="m", **kw)
    with open(os.path.join(A["registry"], ".quilt", "packages", top), encoding="utf-8") as f:
        print(json.dumps({"top_hash": top, "header": f.readline().rstrip("\\n")}))
except Exception as e:
    print(json.dumps({"error": str(e)}))`,
    { registry, data, meta, none: workflow === null },
  );
}

async function ours(
  s: ReturnType<typeof setup>,
  meta: unknown,
  workflow?: null,
): Promise<{ top: string; header: string }> {
  const b = new PackageBuilder("ns/local", { registry: s.registry, session: s.ctx });
  await b.add(s.data, "");
  b.setMeta("", meta);
  const pkg = await b.pushDataAndManifest({ prefix: "ns/local", message: "m", workflow });
  const file = join(s.registry, ".quilt", "packages", pkg.hash);
  return { top: pkg.hash, header: readFileSync(file, "utf8").split("\n")[0] as string };
}

describe("workflows on a local registry, as quilt3's build applies them", () => {
  it("the default workflow is checked and recorded with file:// URLs: same top hash and header bytes", async () => {
    const s = setup();
    const theirs = await quilt3Build(s.registry, s.data, { owner: "me" });
    const mine = await ours(s, { owner: "me" });
    expect(mine.top).toBe(theirs.top_hash);
    expect(mine.header).toBe(theirs.header);
    expect(JSON.parse(mine.header).workflow).toEqual({
      id: "checked",
      config: pathToFileURL(join(s.registry, ".quilt", "workflows", "config.yml")).href,
      schemas: { meta: pathToFileURL(join(s.registry, ".quilt", "workflows", "meta.json")).href },
    });
    await s.ctx.close();
  });

  it("an explicit no-workflow (null, quilt3's None) is recorded as id null where the config allows it", async () => {
    const s = setup();
    const theirs = await quilt3Build(s.registry, s.data, { owner: 7 }, null);
    const mine = await ours(s, { owner: 7 }, null);
    expect(mine.top).toBe(theirs.top_hash);
    expect(mine.header).toBe(theirs.header);
    expect(JSON.parse(mine.header).workflow).toEqual({
      id: null,
      config: pathToFileURL(join(s.registry, ".quilt", "workflows", "config.yml")).href,
    });
    await s.ctx.close();
  });

  it("refuses metadata failing the schema with quilt3's message", async () => {
    const s = setup();
    const b = new PackageBuilder("ns/local", { registry: s.registry, session: s.ctx });
    await b.add(s.data, "");
    b.setMeta("", new Map([["owner", 1.5]]));
    const err = await b.pushDataAndManifest({ prefix: "ns/local" }).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: "EWORKFLOW",
      message: "Metadata failed validation: 1.5 is not of type 'string'.",
    });
    expect((await quilt3Build(s.registry, s.data, { owner: 1.5 })).error).toBe((err as Error).message);
    await s.ctx.close();
  });

  it("refuses a config or schema it cannot use with quilt3's messages (exit 9's EWORKFLOWCONFIG)", async () => {
    const s = setup();
    const wf = join(s.registry, ".quilt", "workflows");
    const missing = pathToFileURL(join(wf, "missing.json")).href;
    const configs = [
      'version: "1"\n',
      'version: "2"\nworkflows: {a: {name: A}}\n',
      "version: [\n",
      'version: "1"\nworkflows: {a: {name: A, metadata_schema: s}}\nschemas: {s: {url: schemas/s.json}}\n',
      `version: "1"\nworkflows: {a: {name: A, metadata_schema: s}}\nschemas: {s: {url: "${missing}"}}\n`,
      'version: "1"\nworkflows: {a: {name: A, metadata_schema: t}}\nschemas: {s: {url: x}}\n',
      'version: "1"\nworkflows: {"bad id": {name: A}}\n',
    ];
    const theirs = await runQuilt3Json<string[]>(
      `import contextlib, os
from quilt3 import Package
A = ARGS
out = []
for text in A["configs"]:
    with open(os.path.join(A["registry"], ".quilt", "workflows", "config.yml"), "w") as f:
        f.write(text)
    p = Package()
    p.set_meta({})
    try:
        with contextlib.redirect_stdout(sys.stderr):
            p.build("ns/local", registry="file://" + A["registry"], workflow="a")
        out.append("accepted")
    except Exception as e:
        out.append(str(e))
print(json.dumps(out))`,
      { registry: s.registry, configs },
    );
    const mine: string[] = [];
    for (const text of configs) {
      writeFileSync(join(wf, "config.yml"), text);
      const b = new PackageBuilder("ns/local", { registry: s.registry, session: s.ctx });
      b.setMeta("", {});
      const err = await b.checkWorkflow({ workflow: "a" }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: "EWORKFLOWCONFIG" });
      mine.push((err as Error).message);
    }
    expect(mine).toEqual(theirs);
    await s.ctx.close();
  });
});
