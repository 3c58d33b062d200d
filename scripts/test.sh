#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what it needs (scripts/setup.sh),
# then type-checks, lints and runs every test against a real moto S3 server and the real
# quilt3 client. `.ci/run` calls exactly this script.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
echo "[test] type-check" >&2
npx tsc -p tsconfig.test.json
echo "[test] lint and format" >&2
npx eslint .
npx prettier --check --log-level warn "**/*.{ts,js,mjs,cjs}"
echo "[test] vitest" >&2
npx vitest run "$@"
