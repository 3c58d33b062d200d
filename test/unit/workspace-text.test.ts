// workspace-text.ts writes .quilt/workspace.json entry by entry; the bytes must be those of
// JSON.stringify(file, null, 1) + "\n" of the whole state (what the workspace wrote before,
// and what it reads back), on entries that are easy to get wrong: unicode keys, metadata
// with floats and big integers, stamps of local files, header text that looks like the
// entries key, no entries at all.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  builderStateEntries,
  builderStateHead,
  saveBuilderState,
  type EntryState,
} from "../../src/api/builder-state.js";
import { PackageBuilder, type BuilderSnapshot } from "../../src/api/package-builder.js";
import { workspaceText } from "../../src/cli/workspace-text.js";
import { parseJson } from "../../src/manifest/json-parse.js";
import type { JsonObject } from "../../src/manifest/json-value.js";
import { PhysicalKey } from "../../src/manifest/physical-key.js";
import { Session } from "../../src/session.js";
import { removeTempDirs, tempDir } from "../helpers/package-fixtures.js";

const sessions: Session[] = [];
afterAll(async () => {
  for (const s of sessions) await s.close();
  removeTempDirs();
});

function obj(text: string): JsonObject {
  return parseJson(text) as JsonObject;
}

function builderOf(entries: BuilderSnapshot["entries"], header = '{"version": "v0"}'): PackageBuilder {
  const dir = tempDir("quilt-workspace-text-");
  const session = new Session({ cacheDir: join(dir, "cache") });
  sessions.push(session);
  const snapshot: BuilderSnapshot = {
    entries,
    header: obj(header),
    dirMeta: new Map([
      ["données/", parseJson('{"split": "train", "scale": 2.0, "n": 12345678901234567890}')],
    ]),
    built: undefined,
    pushed: undefined,
  };
  return PackageBuilder.fromState("ns/pkg:v1", snapshot, { session, registry: join(dir, "registry") });
}

async function streamed(head: object, builder: PackageBuilder): Promise<string> {
  let text = "";
  for await (const piece of workspaceText(head, builderStateHead(builder), builderStateEntries(builder)))
    text += piece;
  return text;
}

async function whole(head: object, builder: PackageBuilder): Promise<string> {
  return JSON.stringify({ ...head, builder: await saveBuilderState(builder) }, null, 1) + "\n";
}

describe("workspace text", () => {
  it("is the whole state's JSON.stringify(…, null, 1), byte for byte, on tricky entries", async () => {
    const dir = tempDir("quilt-workspace-text-files-");
    const local = join(dir, "é 😀.txt");
    writeFileSync(local, "alpha\n");
    const builder = builderOf(
      [
        {
          logicalKey: "données/été 😀.txt",
          source: PhysicalKey.local(local),
          size: 6,
          hash: obj('{"type": "sha2-256-chunked", "value": "abc="}'),
          meta: obj('{"user_meta": {"b": 1.0, "big": 12345678901234567890, "a": [1e+16, -0.5, "\\u00e9"]}}'),
        },
        { logicalKey: 'a\tb"c\\d', source: PhysicalKey.s3("bucket", "k ey", "v/1+2=="), meta: new Map() },
        {
          logicalKey: "x/y.bin",
          source: PhysicalKey.s3("bucket", "x/y.bin"),
          size: 5,
          checksumSha256: "c2hh",
          meta: obj('{"user_meta": {"nested": {"z": {}, "y": []}}}'),
        },
      ],
      '{"version": "v0", "message": "\\n  \\"entries\\": []", "user_meta": {"entries": [], "v": 2.0}}',
    );
    const head = { format: "quilt-workspace/1", generation: 7, dataPrefix: "s3://b/p/" };
    const text = await streamed(head, builder);
    expect(text).toBe(await whole(head, builder));
    // The local file got its stamp, inside its entry.
    const parsed = JSON.parse(text) as { builder: { entries: EntryState[] } };
    expect(parsed.builder.entries[0]?.stamp?.size).toBe(6);
    expect(parsed.builder.entries.map((e) => e.key)).toEqual(["données/été 😀.txt", 'a\tb"c\\d', "x/y.bin"]);
  });

  it("is the same for a builder without entries, and after a build", async () => {
    const empty = builderOf([]);
    const head = { format: "quilt-workspace/1", generation: 0 };
    expect(await streamed(head, empty)).toBe(await whole(head, empty));
    expect(await streamed(head, empty)).toContain('"entries": []');

    const built = builderOf([
      {
        logicalKey: "one",
        source: PhysicalKey.s3("bucket", "one"),
        size: 0,
        hash: obj('{"type": "SHA256", "value": "e3b0"}'),
        meta: new Map(),
      },
    ]);
    await built.buildManifest();
    const text = await streamed(head, built);
    expect(text).toBe(await whole(head, built));
    expect(JSON.parse(text).builder.topHash).toBe(built.topHash);
  });
});
