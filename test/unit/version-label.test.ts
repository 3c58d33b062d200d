// One way a version is named to people (src/manifest/version-label.ts): the library's label,
// mounts' names and the CLI's lines all come from here.
import { describe, expect, it } from "vitest";
import { shortHash, versionLabel, versionLine } from "../../src/manifest/version-label.js";

const topHash = "18b6a77a6c1b2e0f5e8f3d3b5b6f0f8e2d9c7a1b3c5d7e9f0a2b4c6d8e0f1a3b";

describe("version labels", () => {
  it("name a version by tag, else by the first nine characters of its top hash", () => {
    expect(shortHash(topHash)).toBe("18b6a77a6");
    expect(versionLabel({ name: "ns/data", tag: "v1", topHash })).toBe("ns/data:v1");
    expect(versionLabel({ name: "ns/data", topHash })).toBe("ns/data@18b6a77a6");
    expect(versionLabel({ name: "ns/data", tag: null, topHash })).toBe("ns/data@18b6a77a6");
    expect(versionLine({ name: "ns/data", tag: "v1", topHash })).toBe("ns/data:v1 (18b6a77a6)");
    expect(versionLine({ name: "ns/data", tag: null, topHash })).toBe("ns/data (18b6a77a6)");
  });
});
