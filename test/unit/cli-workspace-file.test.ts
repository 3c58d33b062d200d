// The workspace state file is checked field by field when read: a file that parses as JSON
// but is not what save() writes (another format, a generation or data prefix of the wrong
// type, no builder) is refused as EBADMANIFEST naming the path, never used half-read; what
// save() wrote (the remembered data prefix included) reads back.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PackageBuilder } from "../../src/index.js";
import { CommandContext, type Io } from "../../src/cli/context.js";
import { Workspace, workspaceStatePath } from "../../src/cli/workspace.js";

const root = mkdtempSync(join(tmpdir(), "quilt-workspace-file-"));
const io: Io = { out: () => {}, err: () => {}, outBytes: () => {}, isTty: false };
const ctx = new CommandContext(io, { HOME: root, QUILT_CACHE_DIR: join(root, "cache") });
beforeAll(() => ctx.loadSession());
afterAll(() => ctx.close());

describe("workspace state file", () => {
  it("reads back what save() wrote, and refuses JSON of another shape", async () => {
    const ws = mkdtempSync(join(root, "ws-"));
    const created = await Workspace.create(
      ws,
      new PackageBuilder("team/draft", { registry: join(root, "reg") }),
    );
    created.dataPrefix = "data/v1/";
    await created.save();
    const reopened = await Workspace.open(ws, () => {}, ctx);
    expect(reopened.dataPrefix).toBe("data/v1/");
    expect(reopened.builder.name).toBe("team/draft");

    const good = JSON.parse(readFileSync(workspaceStatePath(ws), "utf8"));
    const bad: [unknown, RegExp][] = [
      [null, /unknown format undefined/],
      [[], /unknown format undefined/],
      [{ ...good, format: "quilt-workspace/9" }, /unknown format "quilt-workspace\/9"/],
      [{ ...good, generation: "3" }, /unknown format "quilt-workspace\/1"/],
      [{ ...good, dataPrefix: 5 }, /dataPrefix is not a string/],
      [{ ...good, builder: undefined }, /valid workspace state: /],
    ];
    for (const [content, reason] of bad) {
      writeFileSync(workspaceStatePath(ws), JSON.stringify(content));
      const err = await Workspace.open(ws, () => {}, ctx).catch((e: unknown) => e);
      expect(err, JSON.stringify(content)).toMatchObject({ code: "EBADMANIFEST" });
      expect(String(err)).toContain(`${workspaceStatePath(ws)} is not a valid workspace state: `);
      expect(String(err)).toMatch(reason);
    }
  });
});
