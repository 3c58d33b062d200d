// `quilt add A B` has two spellings (PATH LOGICAL, and the use cases' LOGICAL/ SOURCE);
// which one is meant is decided by a documented rule, checked here case by case.
import { describe, expect, it } from "vitest";
import { addArguments } from "../../src/cli/add-command.js";

const existing = new Set(["/ws/train2017", "/ws/data", "/test2017"]);
const exists = (p: string): boolean => existing.has(p.replace(/\/$/, ""));

describe("quilt add argument forms", () => {
  it("one argument is always the source", () => {
    expect(addArguments("train2017/", undefined, exists)).toEqual({
      source: "train2017/",
      logical: undefined,
    });
  });

  it("LOGICAL/ SOURCE when the first ends with / and the second is an s3:// URL or an existing path", () => {
    expect(addArguments("val2017/", "s3://other/abc/validation/", exists)).toEqual({
      source: "s3://other/abc/validation/",
      logical: "val2017/",
    });
    expect(addArguments("test2017/", "/test2017/", exists)).toEqual({
      source: "/test2017/",
      logical: "test2017/",
    });
    // Both exist: the rule still reads it as LOGICAL/ SOURCE (documented in --help).
    expect(addArguments("/ws/train2017/", "/ws/data", exists)).toEqual({
      source: "/ws/data",
      logical: "/ws/train2017/",
    });
  });

  it("PATH LOGICAL otherwise", () => {
    expect(addArguments("/ws/data", "imgs/", exists)).toEqual({ source: "/ws/data", logical: "imgs/" });
    expect(addArguments("/ws/data/", "new-name/", exists)).toEqual({
      source: "/ws/data/",
      logical: "new-name/",
    });
    expect(addArguments("notes.txt", "/ws/data", exists)).toEqual({
      source: "notes.txt",
      logical: "/ws/data",
    });
    expect(addArguments("s3://b/prefix/", "s3://b/other/", exists)).toEqual({
      source: "s3://b/prefix/",
      logical: "s3://b/other/",
    });
  });
});
