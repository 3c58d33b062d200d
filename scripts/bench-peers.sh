#!/usr/bin/env bash
# One command for the side-by-side benchmark of `quilt mount` against rclone, s3fs and
# awscli (scripts/bench-peers.ts): installs the peers from Debian when they are missing
# (as root; never Debian's `fuse`, which conflicts with fuse3's fusermount), then runs the
# benchmark with the options given here, e.g. `scripts/bench-peers.sh --runs 1 --no-write`.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v rclone >/dev/null || missing+=(rclone)
command -v s3fs >/dev/null || missing+=(s3fs)
command -v aws >/dev/null || missing+=(awscli)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "[bench-peers] apt-get install ${missing[*]}" >&2
    # A peer that will not install is skipped by the benchmark with a note, not fatal here.
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; } ||
      echo "[bench-peers] could not install ${missing[*]}; the benchmark skips what is missing" >&2
  else
    echo "[bench-peers] not root: cannot install ${missing[*]}; the benchmark skips what is missing" >&2
  fi
fi
exec npx tsx scripts/bench-peers.ts "$@"
