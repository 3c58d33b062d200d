// What signing a direct S3 request (s3-direct-get.ts) needs besides the SDK's SigV4 signer:
// the hash it computes with, on node:crypto, and an object key's path encoded as S3 signs it.
import { createHash, createHmac, type Hash, type Hmac } from "node:crypto";

/** node:crypto behind the hash interface the signer expects (HMAC when given a secret). */
export class NodeSha256 {
  private h: Hash | Hmac;
  private readonly secret?: Uint8Array | string;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    if (secret === undefined || typeof secret === "string") this.secret = secret;
    else if (secret instanceof ArrayBuffer) this.secret = new Uint8Array(secret);
    else this.secret = new Uint8Array(secret.buffer, secret.byteOffset, secret.byteLength);
    this.h = this.fresh();
  }
  private fresh(): Hash | Hmac {
    return this.secret === undefined ? createHash("sha256") : createHmac("sha256", this.secret);
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    if (typeof data === "string") this.h.update(data);
    else if (data instanceof ArrayBuffer) this.h.update(new Uint8Array(data));
    else this.h.update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(this.h.digest());
  }
  reset(): void {
    this.h = this.fresh();
  }
}

/** A key's path as S3 wants it: each segment percent-encoded (RFC 3986), slashes kept. */
export function encodeKeyPath(key: string): string {
  return key
    .split("/")
    .map((seg) =>
      encodeURIComponent(seg).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`),
    )
    .join("/");
}
