// The S3 store as the session hands it out: the AWS SDK (~0.2 s of CPU to import) is loaded
// at the store's first request, not when a session is made. A daemon restarting with its
// mounts' versions already indexed answers its socket and remounts without it, and a
// command that never reaches S3 (a local registry) never loads it.
import type { Readable } from "node:stream";
import type {
  GetOptions,
  ListEntry,
  ListOptions,
  ObjectHead,
  ObjectLocation,
  ObjectPart,
  ObjectStore,
  PutBody,
  PutOptions,
  PutResult,
} from "./object-store.js";
import type { S3Store, S3StoreOptions } from "./s3-store.js";

export class LazyS3Store implements ObjectStore {
  readonly scheme = "s3" as const;
  private store: Promise<S3Store> | undefined;

  constructor(private readonly opts: S3StoreOptions) {}

  /** The real store, built once; a failure to build it is each request's failure. */
  private inner(): Promise<S3Store> {
    this.store ??= import("./s3-store.js").then(({ createS3Store }) => createS3Store(this.opts));
    return this.store;
  }

  async get(loc: ObjectLocation, opts?: GetOptions): Promise<Buffer> {
    return (await this.inner()).get(loc, opts);
  }

  async getStream(loc: ObjectLocation, opts?: GetOptions): Promise<Readable> {
    return (await this.inner()).getStream(loc, opts);
  }

  async head(loc: ObjectLocation): Promise<ObjectHead> {
    return (await this.inner()).head(loc);
  }

  async objectParts(loc: ObjectLocation): Promise<ObjectPart[] | undefined> {
    return (await this.inner()).objectParts(loc);
  }

  async put(
    loc: Omit<ObjectLocation, "versionId" | "etag">,
    body: PutBody,
    opts?: PutOptions,
  ): Promise<PutResult> {
    return (await this.inner()).put(loc, body, opts);
  }

  async *list(bucket: string, prefix: string, opts?: ListOptions): AsyncGenerator<ListEntry> {
    yield* (await this.inner()).list(bucket, prefix, opts);
  }

  async delete(loc: ObjectLocation): Promise<void> {
    return (await this.inner()).delete(loc);
  }

  async copy(
    src: ObjectLocation,
    dst: Omit<ObjectLocation, "versionId" | "etag">,
    opts?: PutOptions,
  ): Promise<PutResult> {
    return (await this.inner()).copy(src, dst, opts);
  }

  /** Closes the real store if a request built it; nothing to release otherwise. */
  async close(): Promise<void> {
    const store = this.store;
    this.store = undefined;
    if (store) await (await store.catch(() => undefined))?.close();
  }
}
