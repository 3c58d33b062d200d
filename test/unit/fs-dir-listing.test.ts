// DirListing: a directory's entries in pages for READDIRPLUS, each page sized from how many
// entries the kernel's buffer took of the previous one (the next request's offset says), so
// attributes are not built for entries libfuse throws away.
import { describe, expect, it } from "vitest";
import { QuiltFilesystem } from "../../src/fs/filesystem.js";
import { MemoryEntryReader } from "../../src/fs/memory-reader.js";
import { fsManifest } from "../helpers/fs-fixtures.js";

const NAMES = 3000;
const fs = new QuiltFilesystem(
  fsManifest(Array.from({ length: NAMES }, (_, i) => ({ key: `d/f${String(i).padStart(5, "0")}`, size: i }))),
  new MemoryEntryReader(),
  { uid: 0, gid: 0, time: new Date("2024-05-06T07:08:09.000Z") },
);

/** Reads a listing as a kernel whose buffer holds `fits` entries would, returning each page's length and every name taken. */
async function drain(fits: number): Promise<{ sizes: number[]; names: string[] }> {
  const listing = await fs.openListing("/d");
  const sizes: number[] = [];
  const names: string[] = [];
  for (let offset = 0; ;) {
    const page = listing.page(offset);
    if (page.names.length === 0) return { sizes, names };
    sizes.push(page.names.length);
    names.push(...page.names.slice(0, fits));
    offset = page.offsets[Math.min(fits, page.names.length) - 1] as number;
  }
}

describe("DirListing", () => {
  it("sizes each page from what the kernel took of the last one, a little more, and lists every name once", async () => {
    const { sizes, names } = await drain(40);
    expect(names).toEqual([
      ".",
      "..",
      ...Array.from({ length: NAMES }, (_, i) => `f${String(i).padStart(5, "0")}`),
    ]);
    expect(sizes[0]).toBe(256);
    // 40 fitted: 40 + 40/8 + 4 from then on (the last two pages hold what is left).
    expect(new Set(sizes.slice(1, -2))).toEqual(new Set([49]));
  });

  it("doubles the page while the kernel takes all of it, up to a bound", async () => {
    const { sizes } = await drain(Number.MAX_SAFE_INTEGER);
    expect(sizes.slice(0, 3)).toEqual([256, 512, 1024]);
    expect(sizes.reduce((a, b) => a + b)).toBe(NAMES + 2);
  });

  it("starts over at the first page size when the kernel seeks back", async () => {
    const listing = await fs.openListing("/d");
    listing.page(0);
    expect(listing.page(40).names.length).toBe(49);
    expect(listing.page(0).names.length).toBe(49);
    expect(listing.page(3000).offsets).toEqual([3001, 3002]);
  });
});
