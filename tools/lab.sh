#!/usr/bin/env bash
# Open JupyterLab on the notebooks with the project's environment (.venv), to explore a built collection.
# IMGSEARCH_DIR (default runs/demo, built by tools/start.sh) is the collection the search, widget and
# evaluation notebooks show when it exists; otherwise they build the committed sample.
# Extra arguments go to `jupyter lab` (e.g. --port 8890).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
.venv/bin/python -c "import jupyterlab" 2>/dev/null || .venv/bin/python -m pip install -q -e ".[lab]"  # the optional extra in pyproject.toml
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}  # the notebooks' tests import bench/fixtures.py as `bench.fixtures`
export IMGSEARCH_DIR=${IMGSEARCH_DIR:-$PWD/runs/demo}
root=(); [ "$(id -u)" = 0 ] && root=(--allow-root)
exec .venv/bin/jupyter lab nbs --ip 127.0.0.1 --no-browser "${root[@]}" "$@"
