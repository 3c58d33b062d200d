// The code-shape measure (scripts/code-shape.ts) that issue 14's before/after numbers come
// from: it must find a value cycle, tell a type-only cycle apart, and count casts and sizes.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { measure } from "../../scripts/code-shape.js";

describe("code-shape", () => {
  let root: string | undefined;
  afterEach(() => {
    if (root !== undefined) rmSync(root, { recursive: true, force: true });
    root = undefined;
  });

  function tree(files: Record<string, string>): string {
    const dir = mkdtempSync(join(tmpdir(), "code-shape-"));
    root = dir;
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(join(dir, path, ".."), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    return dir;
  }

  it("finds value cycles, type-only cycles, casts and the largest function", () => {
    const shape = measure(
      tree({
        "a.ts": 'import { b } from "./b.js";\nexport const a = () => b;\n',
        "b.ts": 'import { a } from "./a.js";\nexport function b() {\n  return a;\n}\n',
        "t/c.ts": 'import type { D } from "./d.js";\nexport type C = D;\n',
        "t/d.ts": 'import { type C } from "./c.js";\nexport type D = C | 1;\n',
        "cli/e.ts": "export const e = (1 as unknown as string) + (2 as const);\n",
        "lib.ts": 'import { x } from "node:fs";\nexport { x };\n',
      }),
    );
    expect(shape.files).toBe(6);
    expect(shape.valueCycles).toEqual([["a.ts", "b.ts"]]);
    expect(shape.allCycles).toEqual([
      ["a.ts", "b.ts"],
      ["t/c.ts", "t/d.ts"],
    ]);
    expect(shape.castsInCli).toBe(2);
    expect(shape.largestFunction).toEqual({ path: "b.ts", name: "b", lines: 3 });
    expect(shape.largestFile.lines).toBe(4);
  });

  it("finds no cycle in a tree that imports one way", () => {
    const shape = measure(tree({ "a.ts": 'import "./b.js";\n', "b.ts": "export {};\n" }));
    expect(shape.valueCycles).toEqual([]);
    expect(shape.allCycles).toEqual([]);
  });

  it("src/ has no import cycle that Node loads", () => {
    const src = fileURLToPath(new URL("../../src", import.meta.url));
    expect(measure(src).valueCycles).toEqual([]);
  });
});
