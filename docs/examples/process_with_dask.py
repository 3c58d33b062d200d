#!/usr/bin/env python3
"""Read every file of a Quilt package with Dask, two ways, and compare.

(a) straight from S3: `quilt manifest export` writes one row per entry (bucket, key,
    version_id, size, hash); Dask reads that Parquet table and each partition GETs its
    objects at their exact versions with boto3, hashing each against the manifest.
(b) through `quilt mount`: the same rows name plain files under the mount point, which the
    daemon fetches lazily (and verifies) on first read; read twice, cold then warm.

Both ways must give every file's bytes with the manifest's hash; the script prints the
time and throughput of each, and exits 1 if any file differs. See
docs/processing-with-dask.md for a run and what it shows.

Environment: AWS credentials and endpoint as boto3 and quilt take them (AWS_ENDPOINT_URL
for a local moto or s3rver), QUILT_* for quilt's caches. --make N pushes a sample package
of N files first, so the example runs on an empty test bucket.
"""
import argparse
import base64
import functools
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import boto3
import dask
import dask.dataframe as dd
import pandas as pd

CHUNK = 8 * 1024 * 1024  # quilt3's sha2-256-chunked part size (doubled past 10,000 parts)
READ = 1024 * 1024


class EntryHash:
    """The manifest hash of a stream of `size` bytes, fed in pieces: sha2-256-chunked or SHA256."""

    def __init__(self, hash_type, size):
        self.type = hash_type
        self.whole = hashlib.sha256()
        self.chunk_size = CHUNK
        while -(-size // self.chunk_size) > 10_000:
            self.chunk_size *= 2
        self.chunk, self.in_chunk, self.digests = hashlib.sha256(), 0, b""

    def update(self, data):
        self.whole.update(data)
        view = memoryview(data)
        while len(view) > 0:
            take = min(len(view), self.chunk_size - self.in_chunk)
            self.chunk.update(view[:take])
            self.in_chunk += take
            view = view[take:]
            if self.in_chunk == self.chunk_size:
                self.digests += self.chunk.digest()
                self.chunk, self.in_chunk = hashlib.sha256(), 0

    def value(self):
        if self.type == "SHA256":
            return self.whole.hexdigest()
        if self.type != "sha2-256-chunked":
            raise ValueError(f"hash type {self.type} is not computed by this example")
        digests = self.digests + (self.chunk.digest() if self.in_chunk else b"")
        return base64.b64encode(hashlib.sha256(digests).digest()).decode()


def checked(row, pieces):
    """One result row: the bytes read, whether they match the manifest, their SHA-256."""
    h = EntryHash(row.hash_type, row.size)
    n = 0
    for piece in pieces:
        h.update(piece)
        n += len(piece)
    ok = n == row.size and h.value() == row.hash_value
    return {"logical_key": row.logical_key, "bytes": n, "ok": ok, "sha256": h.whole.hexdigest()}


RESULT = pd.DataFrame(
    {"logical_key": pd.Series(dtype=str), "bytes": pd.Series(dtype="int64"),
     "ok": pd.Series(dtype=bool), "sha256": pd.Series(dtype=str)}
)


@functools.lru_cache(maxsize=None)
def s3_client(thread):
    """One client per worker thread: a client is costly to make, and a session is not thread-safe."""
    return boto3.session.Session().client("s3")


def read_from_s3(part):
    """A Dask partition of export rows -> results, each object GET at its version."""
    s3 = s3_client(threading.get_ident())
    out = []
    for row in part.itertuples():
        args = {"Bucket": row.bucket, "Key": row.key}
        if row.version_id is not None:
            args["VersionId"] = row.version_id
        body = s3.get_object(**args)["Body"]
        out.append(checked(row, body.iter_chunks(READ)))
    return pd.DataFrame(out, columns=RESULT.columns)


def read_from_mount(part, mount):
    """A Dask partition of export rows -> results, each read as a plain file under the mount."""
    out = []
    for row in part.itertuples():
        with open(os.path.join(mount, row.logical_key), "rb") as f:
            out.append(checked(row, iter(lambda: f.read(READ), b"")))
    return pd.DataFrame(out, columns=RESULT.columns)


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True, **kw).stdout


def make_package(quilt, name, files, size):
    """Pushes a package of `files` pseudo-random files of `size` bytes (for a demo on an empty bucket)."""
    work = tempfile.mkdtemp(prefix="dask-example-")
    try:
        os.makedirs(os.path.join(work, "data"))
        for i in range(files):
            with open(os.path.join(work, "data", f"part-{i:05d}.bin"), "wb") as f:
                f.write(hashlib.sha256(f"{name}:{i}".encode()).digest() * (size // 32) + b"x" * (size % 32))
        run(quilt + ["init", name], cwd=work)
        run(quilt + ["add", "data/"], cwd=work)
        run(quilt + ["push", "--prefix", f"dask-example/{name}", "-t", "latest"], cwd=work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def timed(label, frame, results):
    start = time.monotonic()
    df = frame.compute()
    seconds = time.monotonic() - start
    total = int(df["bytes"].sum())
    results[label] = {"seconds": round(seconds, 3), "files": len(df), "bytes": total,
                      "ok": bool(df["ok"].all()), "MiB_per_s": round(total / 2**20 / seconds, 1)}
    return df.set_index("logical_key").sort_index()


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("package", help="ns/name[:tag] in the registry (QUILT_REGISTRY or --registry)")
    p.add_argument("--registry", help="s3://bucket (default: $QUILT_REGISTRY)")
    p.add_argument("--quilt", default=os.path.join(here, "..", "..", "bin", "quilt.js"), help="the quilt CLI")
    p.add_argument("--workers", type=int, default=8, help="Dask threads (default 8)")
    p.add_argument("--make", type=int, metavar="N", help="first push a sample package of N files")
    p.add_argument("--size", type=int, default=1024 * 1024, help="bytes per sample file (default 1 MiB)")
    p.add_argument("--no-mount", action="store_true", help="skip (b), e.g. where FUSE is unavailable")
    p.add_argument("--json", action="store_true", help="print the results as one JSON document")
    a = p.parse_args()
    quilt = [a.quilt] + (["--registry", a.registry] if a.registry else [])
    name = a.package.split(":")[0]
    if a.make:
        make_package(quilt, name, a.make, a.size)
    tmp = tempfile.mkdtemp(prefix="dask-example-")
    results = {}
    try:
        table = os.path.join(tmp, "entries.parquet")
        start = time.monotonic()
        run(quilt + ["manifest", "export", a.package, "-o", table])
        results["export"] = {"seconds": round(time.monotonic() - start, 3)}
        rows = dd.read_parquet(table)
        rows = rows.repartition(npartitions=max(1, min(a.workers * 4, len(rows))))
        with dask.config.set(scheduler="threads", num_workers=a.workers):
            # Twice: the first pass also makes each thread's client, the second shows the steady rate.
            frames = [
                timed(label, rows.map_partitions(read_from_s3, meta=RESULT), results)
                for label in ("s3", "s3_again")
            ]
            if not a.no_mount:
                mount = os.path.join(tmp, "mnt")
                os.mkdir(mount)
                run(quilt + ["mount", a.package, mount])
                try:
                    for label in ("mount_cold", "mount_warm"):
                        read = rows.map_partitions(read_from_mount, mount, meta=RESULT)
                        frames.append(timed(label, read, results))
                finally:
                    run([a.quilt, "unmount", mount])
        # Every way read every file, each matched the manifest, and all saw the same bytes.
        s3 = frames[0]
        sha256 = s3["sha256"].to_dict()
        results["identical"] = all(r.get("ok", True) for r in results.values()) and all(
            f.index.equals(s3.index) and f["sha256"].equals(s3["sha256"]) for f in frames
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if a.json:
        print(json.dumps({**results, "sha256": sha256}))
    else:
        for label, r in results.items():
            print(f"{label:11} {r}")
    return 0 if results["identical"] else 1


if __name__ == "__main__":
    sys.exit(main())
