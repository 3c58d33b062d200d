// What a starting daemon asks of its manifest index (manifest-index.ts): every version
// holding records, found by one seek per version rather than a scan of every key (which
// would map every leaf page of the index into the daemon). Complete versions without a
// usage record (indexed before usage was recorded) are given one at time 0, so eviction
// finds them first; versions without a header are listed as incomplete: a build or a drop
// cut short (at a daemon's start nothing is building, so their records are leftovers).
// `quilt cache stats` lists versions without a header too, read only.
import type { Database, RootDatabase } from "lmdb";
import { ID_BYTES, recordKey, TAG_HEADER } from "./manifest-index-keys.js";

export interface IndexSurvey {
  /** Complete versions just given a usage record. */
  adopted: Buffer[];
  /** Versions with records but no header. */
  incomplete: Buffer[];
}

export function surveyIndex(db: RootDatabase<Buffer, Buffer>, usage: Database<number, Buffer>): IndexSurvey {
  const adopted: Buffer[] = [];
  const incomplete: Buffer[] = [];
  for (const vid of versionsWithRecords(db)) {
    if (!db.doesExist(recordKey(vid, TAG_HEADER, 0))) incomplete.push(vid);
    else if (usage.get(vid) === undefined) adopted.push(vid);
  }
  if (adopted.length > 0) usage.transactionSync(() => adopted.forEach((vid) => usage.putSync(vid, 0)));
  return { adopted, incomplete };
}

/** An indexed version as eviction sees it. */
export interface IndexedVersionInfo {
  vid: Buffer;
  /** When a mount last opened or let go of it (ms since the epoch; 0: never, since it was indexed before this was recorded). */
  usedAt: number;
}

/** Versions holding records but no header (being built, being removed, or left by a kill), and their records. */
export interface Headerless {
  versions: number;
  records: number;
}

/** Counts the versions without a header and their records, writing nothing (it reads those versions' keys only). */
export function headerlessVersions(db: RootDatabase<Buffer, Buffer>): Headerless {
  const out: Headerless = { versions: 0, records: 0 };
  for (const vid of versionsWithRecords(db)) {
    if (db.doesExist(recordKey(vid, TAG_HEADER, 0))) continue;
    out.versions++;
    out.records += db.getKeysCount({ start: vid, end: afterVersion(vid) });
  }
  return out;
}

/** Each version holding records, by one seek per version. */
function* versionsWithRecords(db: RootDatabase<Buffer, Buffer>): Generator<Buffer> {
  let start: Buffer = Buffer.alloc(0);
  for (;;) {
    const key = first(db.getKeys({ start, limit: 1 }));
    if (key === undefined) return;
    // The named databases ("usage") are keys of the main one too: step over them.
    if (key.length !== ID_BYTES + 5) {
      start = Buffer.concat([key, Buffer.from([0])]);
      continue;
    }
    const vid = Buffer.from(key.subarray(0, ID_BYTES));
    yield vid;
    start = afterVersion(vid);
  }
}

/** Tags are below 0xff: vid + 0xff sorts after every record of vid, before the next version's. */
function afterVersion(vid: Buffer): Buffer {
  return Buffer.concat([vid, Buffer.from([0xff])]);
}

function first<T>(items: Iterable<T>): T | undefined {
  for (const item of items) return item;
  return undefined;
}
