// The text of .quilt/workspace.json, produced entry by entry: the same bytes as
// JSON.stringify(file, null, 1) + "\n" of the whole file, without a million entry states
// and one string of them all in memory at once (at a million entries that string alone is
// over 200 MB, and its bytes as many again while written).
import type { BuilderStateHead, EntryState } from "../api/builder-state.js";

/**
 * The builder's "entries" key as an empty array prints at its depth (two spaces). A string
 * value cannot hold a raw newline, so nothing else in the text can look like it.
 */
const EMPTY_ENTRIES = '\n  "entries": []';
/** The indentation of an entry's lines: entries are at depth three. */
const ENTRY_INDENT = "\n   ";

/**
 * `head`'s keys (format, generation, ...), then `builder` as the head of the builder state
 * with `entries` spliced in at its place (after dirMeta), each stringified as it comes.
 */
export async function* workspaceText(
  head: object,
  builder: BuilderStateHead,
  entries: AsyncIterable<EntryState>,
): AsyncGenerator<string> {
  const { topHash, pushed, ...first } = builder;
  const skeleton = JSON.stringify({ ...head, builder: { ...first, entries: [], topHash, pushed } }, null, 1);
  const at = skeleton.indexOf(EMPTY_ENTRIES);
  if (at < 0 || skeleton.indexOf(EMPTY_ENTRIES, at + 1) >= 0)
    throw new Error("internal: the workspace state has no single entries key");
  const open = at + EMPTY_ENTRIES.length - 1; // just after "["
  yield skeleton.slice(0, open);
  let any = false;
  for await (const e of entries) {
    yield (any ? "," : "") + ENTRY_INDENT + JSON.stringify(e, null, 1).replaceAll("\n", ENTRY_INDENT);
    any = true;
  }
  if (any) yield "\n  ";
  yield skeleton.slice(open) + "\n";
}
