// Package specs, registry URLs, physical keys and logical keys: every accepted form, and
// refusals that show the accepted forms.
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { parsePackageSpec, formatPackageSpec } from "../../src/manifest/package-spec.js";
import {
  defaultLocalRegistryDir,
  parseRegistryUrl,
  resolveRegistry,
} from "../../src/manifest/registry-url.js";
import { PhysicalKey } from "../../src/manifest/physical-key.js";
import { compareLogicalKeys, logicalKeyProblem, parseLogicalPrefix } from "../../src/manifest/logical-key.js";

describe("package specs", () => {
  const env = { HOME: "/home/u" };

  it("ns/name with tag and hash prefix uses --registry, then QUILT_REGISTRY, then quilt3's local registry", () => {
    expect(parsePackageSpec("ns/name:v0", { registry: "s3://bkt", env })).toMatchObject({
      registry: { kind: "s3", bucket: "bkt" },
      name: "ns/name",
      tag: "v0",
    });
    expect(
      parsePackageSpec("ns/name@abc123", { env: { ...env, QUILT_REGISTRY: "s3://env-bkt" } }),
    ).toMatchObject({ registry: { bucket: "env-bkt" }, hash: "abc123" });
    const local = parsePackageSpec("ns/name", { env });
    expect(local.registry).toEqual({
      kind: "file",
      dir: "/home/u/.local/share/Quilt/packages",
      url: "file:///home/u/.local/share/Quilt/packages",
    });
    expect(local.tag).toBeUndefined();
  });

  it("honours XDG_DATA_HOME like platformdirs", () => {
    expect(defaultLocalRegistryDir({ HOME: "/h", XDG_DATA_HOME: "/data" })).toBe("/data/Quilt/packages");
    expect(resolveRegistry(undefined, { HOME: "/h" }).url).toBe("file:///h/.local/share/Quilt/packages");
  });

  it("full forms: s3://, file:// and quilt+s3://", () => {
    expect(parsePackageSpec("s3://bkt/ns/name:v1@0123456789abcdef")).toMatchObject({
      registry: { url: "s3://bkt" },
      name: "ns/name",
      tag: "v1",
      hash: "0123456789abcdef",
    });
    expect(parsePackageSpec("file:///srv/reg/dir/ns/name:latest")).toMatchObject({
      registry: { kind: "file", dir: "/srv/reg/dir" },
      name: "ns/name",
      tag: "latest",
    });
    const withPath = "quilt+s3://bkt#package=ns/name@abcdef12&path=a/b.csv";
    expect(parsePackageSpec(withPath, { allowPath: true })).toMatchObject({
      registry: { bucket: "bkt" },
      name: "ns/name",
      hash: "abcdef12",
      path: "a/b.csv",
    });
    // Refused where the caller does not honour it, never dropped.
    expect(() => parsePackageSpec(withPath)).toThrow(/names "a\/b.csv" inside the package/);
    expect(parsePackageSpec("quilt+s3://bkt#package=ns/name&path=/dir/", { allowPath: true }).path).toBe(
      "dir/",
    );
    expect(
      parsePackageSpec("quilt+s3://bkt#package=ns/name&path=", { allowPath: true }).path,
    ).toBeUndefined();
    expect(parsePackageSpec("quilt+s3://bkt#package=ns/name:v0")).toMatchObject({ tag: "v0" });
    expect(formatPackageSpec(parsePackageSpec("s3://bkt/ns/name:v1"))).toBe("s3://bkt/ns/name:v1");
  });

  const bad = [
    "name-only",
    "a/b/c",
    "ns/name:",
    "ns/name@xyz",
    "ns/name@abc",
    "http://host/ns/name",
    "s3://bkt/name",
    "ns/na me",
    "quilt+s3://bkt#path=x",
    "quilt+s3://bkt#package=a/b:t@abcdef",
  ];
  for (const spec of bad) {
    it(`refuses ${JSON.stringify(spec)} and shows the accepted forms`, () => {
      expect(() => parsePackageSpec(spec, { env })).toThrow(/Invalid package spec/);
      try {
        parsePackageSpec(spec, { env });
      } catch (err) {
        expect((err as { hint?: string }).hint).toMatch(
          /ns\/name\[:tag\]\[@hashprefix\][\s\S]*quilt\+s3:\/\//,
        );
        expect((err as { code?: string }).code).toBe("EBADSPEC");
      }
    });
  }

  it("registry URLs: relative directories become absolute file URLs, bad schemes refused", () => {
    expect(parseRegistryUrl("/tmp/reg/").url).toBe("file:///tmp/reg");
    expect(parseRegistryUrl("s3://bkt/").url).toBe("s3://bkt");
    expect(() => parseRegistryUrl("gs://bkt")).toThrow(/Unsupported registry/);
    expect(() => parseRegistryUrl("s3://")).toThrow(/Invalid S3 registry/);
  });

  it("a bare name that is not an existing directory is refused with a hint, not taken for a new directory", () => {
    const name = `no-such-registry-${process.pid}`;
    expect(() => parseRegistryUrl(name)).toThrow(
      expect.objectContaining({
        code: "EBADSPEC",
        hint: `for the bucket write s3://${name}; for a new local directory write ./${name}`,
      }),
    );
    expect(parseRegistryUrl(`./${name}`).url).toBe(pathToFileURL(resolve(name)).href);
    expect(parseRegistryUrl("test").url).toBe(pathToFileURL(resolve("test")).href); // an existing directory
  });
});

describe("physical keys, as quilt3 quotes them", () => {
  it("matches the QUILT_FORMAT example in both directions", () => {
    const url = "s3://b/dir/a%20b%21%27%28%29%2A~%2B%3D%26%C3%A9.txt?versionId=v+1%2B%2F%3D";
    const pk = PhysicalKey.fromUrl(url);
    expect(pk.bucket).toBe("b");
    expect(pk.path).toBe("dir/a b!'()*~+=&é.txt");
    expect(pk.versionId).toBe("v 1+/=");
    expect(pk.toString()).toBe(url);
  });

  it("normalizes over-encoded input and keeps stray percent signs", () => {
    expect(PhysicalKey.fromUrl("s3://b/%41%c3%a9%zz").toString()).toBe("s3://b/A%C3%A9%25zz");
    expect(PhysicalKey.fromUrl("file:///tmp/x%20y").path).toBe("/tmp/x y");
  });

  it("refuses other schemes, queries and relative files", () => {
    expect(() => PhysicalKey.fromUrl("s3://b/k?foo=1")).toThrow(/Unexpected S3 query/);
    expect(() => PhysicalKey.fromUrl("file://host/x")).toThrow(/hostname/);
    expect(() => PhysicalKey.fromUrl("https://x/y")).toThrow(/scheme/);
    expect(() => PhysicalKey.fromUrl("s3:///k")).toThrow(/bucket/);
  });
});

describe("logical keys", () => {
  it("refuses anything that could escape a directory", () => {
    for (const k of ["", "/a", "a/", "a//b", ".", "..", "a/./b", "a/../b", "a\0b"])
      expect(logicalKeyProblem(k), k).not.toBeNull();
    for (const k of ["a", "a/b", "...", ".a", "a..b", "a b/ü😀"]) expect(logicalKeyProblem(k), k).toBeNull();
    expect(() => parseLogicalPrefix("../x")).toThrow(/'\.\.' component/);
    expect(parseLogicalPrefix("a/b")).toBe("a/b/");
  });

  it("walk order compares path components, then code points", () => {
    const keys = ["data-b.bin", "data/a.csv", "README.md", "\u{1F600}", "\u{E000}", "data/a/b"];
    expect([...keys].sort(compareLogicalKeys)).toEqual([
      "README.md",
      "data/a/b",
      "data/a.csv",
      "data-b.bin",
      "\u{E000}",
      "\u{1F600}",
    ]);
  });
});
