#!/usr/bin/env bash
# The first command: install everything, then build, train and evaluate the demo collection in runs/demo.
# Re-running it reuses what is already installed, built and trained.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
out=${IMGSEARCH_DEMO_DIR:-runs/demo}
.venv/bin/imgsearch-build demo --out "$out"
[ -f "$out/model/model.pt" ] || .venv/bin/imgsearch-train "$out"
[ -f "$out/model/seed.pt" ] || .venv/bin/imgsearch-train "$out" --seed-faithful
.venv/bin/imgsearch-eval "$out"
echo "imgsearch: the demo collection is built, trained and evaluated in $out (build.json, model/, eval.json)"
