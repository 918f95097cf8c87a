#!/usr/bin/env bash
# The first command: install everything, build, train, index and evaluate the demo collection in runs/demo, then serve it.
# Re-running it reuses what is already installed, built, trained and evaluated.
# Options: --no-serve (stop after the build), and IMGSEARCH_DEMO_DIR / IMGSEARCH_PORT / IMGSEARCH_HOST to change
# the folder and the address (127.0.0.1:5000 by default).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
out=${IMGSEARCH_DEMO_DIR:-runs/demo}
.venv/bin/imgsearch-pipeline demo --out "$out"  # build, train (ours and the seed-faithful baseline), index, eval: what is done is skipped
echo "imgsearch: the demo collection is built, trained, indexed and evaluated in $out (build.json, model/, eval.json)"
[ "${1:-}" = "--no-serve" ] && exit 0
exec .venv/bin/imgsearch-serve "$out" --host "${IMGSEARCH_HOST:-127.0.0.1}" --port "${IMGSEARCH_PORT:-5000}"
