// mount.quilt's arguments as mount(8) and mount.fuse pass them (see the probes in
// test/integration/boot-mounts.test.ts): `SPEC DIR [-sfnv] -o OPTIONS [-t fuse.quilt]`, with
// the generic options mount(8) adds to every line, turned into `quilt mount` and its
// environment; anything else is a usage error naming it.
import { describe, expect, it } from "vitest";
import { isQuiltError } from "../../src/errors.js";
import { parseMountHelperArgs } from "../../src/cli/mount-helper.js";

function usageError(args: string[]): string {
  try {
    parseMountHelperArgs(args);
  } catch (err) {
    expect(isQuiltError(err, "EUSAGE")).toBe(true);
    return (err as Error).message;
  }
  throw new Error(`accepted: ${args.join(" ")}`);
}

describe("mount.quilt arguments", () => {
  it("maps quilt's options to `quilt mount` options and variables", () => {
    const call = parseMountHelperArgs([
      "ns/data:v1",
      "/mnt/data",
      "-o",
      "registry=s3://bucket,cache_size=500G,cache_dir=/efs/quilt,verify=strict,allow_other,nonempty,state_dir=/var/lib/quilt,cache_home=/var/cache/quilt,endpoint=http://s3.local:9000,region=eu-west-1,profile=train",
      "-t",
      "fuse.quilt",
    ]);
    expect(call.fake).toBe(false);
    expect(call.argv).toEqual([
      "mount",
      "ns/data:v1",
      "/mnt/data",
      "--registry",
      "s3://bucket",
      "--cache-size",
      "500G",
      "--cache-dir",
      "/efs/quilt",
      "--verify",
      "strict",
      "--allow-other",
      "--nonempty",
    ]);
    expect(call.env).toEqual({
      QUILT_STATE_DIR: "/var/lib/quilt",
      QUILT_CACHE_DIR: "/var/cache/quilt",
      AWS_ENDPOINT_URL: "http://s3.local:9000",
      AWS_REGION: "eu-west-1",
      AWS_PROFILE: "train",
    });
  });

  it("ignores what mount(8), mount.fuse and systemd add to every line", () => {
    // `defaults` reaches the helper as rw,dev,suid; `user` as noexec,nosuid,nodev.
    for (const opts of [
      "rw,dev,suid",
      "ro,noexec,nosuid,nodev",
      "defaults,_netdev,nofail,noauto,x-systemd.requires=quilt-daemon.service,x-systemd.automount,comment=x,noatime",
    ]) {
      expect(parseMountHelperArgs(["ns/a", "/mnt/a", "-o", `${opts},registry=file:///r`]).argv).toEqual([
        "mount",
        "ns/a",
        "/mnt/a",
        "--registry",
        "file:///r",
      ]);
    }
    // -n (no mtab), -v, -s and several -o are accepted; the source may also carry no options at all.
    expect(
      parseMountHelperArgs(["-n", "ns/a", "-v", "/mnt/a", "-o", "ro", "-o", "allow_other"]).argv,
    ).toEqual(["mount", "ns/a", "/mnt/a", "--allow-other"]);
    expect(parseMountHelperArgs(["ns/a", "/mnt/a"]).argv).toEqual(["mount", "ns/a", "/mnt/a"]);
  });

  it("-f is a dry run, -s ignores unknown options", () => {
    expect(parseMountHelperArgs(["ns/a", "/mnt/a", "-f", "-o", "registry=s3://b"]).fake).toBe(true);
    expect(parseMountHelperArgs(["ns/a", "/mnt/a", "-sf"]).fake).toBe(true);
    expect(parseMountHelperArgs(["ns/a", "/mnt/a", "-s", "-o", "uid=1000,registry=s3://b"]).argv).toEqual([
      "mount",
      "ns/a",
      "/mnt/a",
      "--registry",
      "s3://b",
    ]);
  });

  it("refuses what it cannot do, naming it", () => {
    expect(usageError(["ns/a", "/mnt/a", "-o", "uid=1000"])).toBe("Unknown mount option uid=1000");
    expect(usageError(["ns/a", "/mnt/a", "-o", "registry="])).toContain("registry needs a value");
    expect(usageError(["ns/a", "/mnt/a", "-o", "cache_size"])).toContain("cache_size needs a value");
    expect(usageError(["ns/a", "/mnt/a", "-o", "allow_other=1"])).toBe("Unknown mount option allow_other=1");
    expect(usageError(["ns/a", "/mnt/a", "-o"])).toContain("-o needs a value");
    expect(usageError(["ns/a", "/mnt/a", "-t", "nfs"])).toContain("not nfs");
    expect(usageError(["ns/a", "/mnt/a", "-w"])).toContain("read-only");
    expect(usageError(["ns/a", "/mnt/a", "-N", "/proc/1/ns/mnt"])).toContain("namespace");
    expect(usageError(["ns/a"])).toContain("got 1 argument");
    expect(usageError(["ns/a", "/mnt/a", "extra"])).toContain("got 3 argument");
    expect(usageError(["ns/a", "/mnt/a", "--registry=s3://b"])).toContain(
      "Unknown argument --registry=s3://b",
    );
  });
});
