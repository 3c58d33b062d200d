// The one string order that quilt3 and S3 agree on: Unicode code points. Python sorts
// strings by code point and S3 lists keys in UTF-8 byte order, which is the same order;
// JavaScript's `<` and default sort compare UTF-16 code units, which differ for characters
// above U+FFFF against U+E000..U+FFFF. Manifests' key order, canonical JSON, store listings
// and the mount's directory search all use this.

/** Orders `a[aStart, aStart + aLen)` against `b[bStart, bStart + bLen)` by code point, without slicing. */
export function compareCodePointsAt(
  a: string,
  aStart: number,
  aLen: number,
  b: string,
  bStart: number,
  bLen: number,
): number {
  const n = Math.min(aLen, bLen);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(aStart + i);
    let y = b.charCodeAt(bStart + i);
    if (x !== y) {
      if (x >= 0xd800 && y >= 0xd800) {
        // Surrogates (astral code points) sort above U+E000..U+FFFF.
        x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
        y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
      }
      return x - y;
    }
  }
  return aLen - bLen;
}

/** Orders strings by Unicode code point, as Python's sort and S3's listings do. */
export function compareCodePoints(a: string, b: string): number {
  return compareCodePointsAt(a, 0, a.length, b, 0, b.length);
}
