#!/usr/bin/env bash
# Installs everything the demo and the test suite need, idempotently, on a fresh Debian
# machine as root (or with sudo): system packages for FUSE, the npm dependencies from the
# lock file, and a Python venv with the real quilt3 client and the moto S3 server that the
# tests use as references, and pyarrow and Dask, which read what `quilt manifest export`
# writes. Each step is skipped when its result is already in place.
set -euo pipefail
cd "$(dirname "$0")/.."

# Versions of the Python reference tools: pinned so a new release cannot change a test run.
MOTO_VERSION="5.2.5"
QUILT3_VERSION="8.0.0"
# pyarrow reads `quilt manifest export`'s Parquet back in its test; Dask runs the example in
# docs/processing-with-dask.md (its test too).
PYARROW_VERSION="26.0.1"
DASK_VERSION="2026.8.0"
# libfuse3-dev, patch, make and g++ (node-gyp links with it) build the mount's FUSE binding
# from source with our patch (scripts/fuse-binding.mjs); libfuse-dev builds bench-ls's libfuse 2 floor.
APT_PACKAGES=(libfuse2 libfuse-dev libfuse3-dev fuse3 patch make g++ pkg-config)

log() { printf '[setup] %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing_apt=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing_apt+=("$p")
done
# Debian's python3 ships without venv/ensurepip unless python3-venv is installed.
python3 -c 'import ensurepip, venv' 2>/dev/null || missing_apt+=(python3-venv)
if [ "${#missing_apt[@]}" -gt 0 ]; then
  log "apt-get install ${missing_apt[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing_apt[@]}" >/dev/null
fi

# npm ci is skipped when node_modules already matches the lock file.
stamp=node_modules/.quilt-lock-stamp
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json "$stamp"
fi
# The FUSE binding, patched and built from source (npm ci runs this as its postinstall too;
# here for a node_modules kept from before a change of the patch). A no-op when up to date.
node scripts/fuse-binding.mjs

venv=.venv
want="moto[server]==$MOTO_VERSION quilt3==$QUILT3_VERSION pyarrow==$PYARROW_VERSION dask[dataframe]==$DASK_VERSION"
if [ ! -f "$venv/.stamp" ] || [ "$(cat "$venv/.stamp")" != "$want" ]; then
  log "python venv with $want"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check $want
  printf '%s' "$want" > "$venv/.stamp"
fi

log "build"
npx tsc -p tsconfig.json
