#!/usr/bin/env bash
# The main job, from a fresh clone: installs what it needs (scripts/setup.sh), then runs
# the demo on a local-directory registry (scripts/demo.mjs). QUILT_DEMO_DIR picks where.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true node scripts/demo.mjs
