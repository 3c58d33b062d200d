// One open directory's listing for FUSE's readdir in pages, each entry with its attributes
// (READDIRPLUS: the kernel then needs no lookup per name it lists). A listing is pinned to
// the version that was served when the directory was opened, so its pages never mix two
// versions across a switch. An entry's offset is its index plus one ("." is 1, ".." is 2).
//
// The kernel asks for one buffer's worth at a time (a page on older kernels, up to 128 KiB
// on newer ones) and libfuse drops what does not fit; the next request's offset tells how
// many the previous page got in, so each page is sized from what the last one fitted rather
// than converting attributes that are thrown away.
import type { Attr } from "./node-attrs.js";
import type { FsTree } from "./tree.js";

/** The first page's entries, and the bounds of later ones. */
const FIRST_PAGE = 256;
const MIN_PAGE = 16;
const MAX_PAGE = 8192;

export interface DirPage {
  names: string[];
  attrs: Attr[];
  /** Each entry's offset: where the listing resumes after it. */
  offsets: number[];
}

/** Sizes the pages of one listing from how many entries the kernel took of the last one. */
export class PageSizer {
  private size = FIRST_PAGE;
  /** Offset and length of the last page given; undefined before the first. */
  private last: { offset: number; length: number } | undefined;

  /**
   * How many entries to give from `offset`: what the last page fitted and a margin (names
   * differ in length), twice as many when all of it fitted.
   */
  sizeAt(offset: number): number {
    const last = this.last;
    if (last !== undefined && offset > last.offset && offset <= last.offset + last.length) {
      const fitted = offset - last.offset;
      const next = fitted === last.length ? fitted * 2 : fitted + (fitted >> 3) + 4;
      this.size = Math.max(MIN_PAGE, Math.min(MAX_PAGE, next));
    }
    return this.size;
  }

  /** Records the page given. */
  gave(offset: number, length: number): void {
    this.last = { offset, length };
  }
}

export class DirListing {
  private readonly children: { name: string; ino: number }[];
  private readonly sizer = new PageSizer();

  constructor(
    private readonly tree: FsTree,
    private readonly dirIno: number,
    private readonly attrOf: (treeIno: number) => Attr,
  ) {
    this.children = tree.list(dirIno);
  }

  /** Entries from `offset` (0: the start) on; an empty page at the end. */
  page(offset: number): DirPage {
    const total = this.children.length + 2;
    const end = Math.min(total, offset + this.sizer.sizeAt(offset));
    const page: DirPage = { names: [], attrs: [], offsets: [] };
    for (let i = offset; i < end; i++) {
      const child = i < 2 ? undefined : this.childAt(i - 2);
      page.names.push(child?.name ?? (i === 0 ? "." : ".."));
      page.attrs.push(this.attrOf(child?.ino ?? (i === 0 ? this.dirIno : this.tree.parent(this.dirIno))));
      page.offsets.push(i + 1);
    }
    this.sizer.gave(offset, Math.max(0, end - offset));
    return page;
  }

  private childAt(i: number): { name: string; ino: number } {
    return this.children[i] as { name: string; ino: number };
  }
}
