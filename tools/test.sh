#!/usr/bin/env bash
# The second command: install what is missing, check that imgsearch/ is what the notebooks export,
# then run the whole test suite (every notebook in nbs/ is a pytest item). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
bash tools/browser.sh
.venv/bin/nbdev-export
if command -v git >/dev/null && git rev-parse --git-dir >/dev/null 2>&1; then
  if [ -n "$(git status --porcelain -- imgsearch)" ]; then
    git status --short -- imgsearch
    echo "imgsearch/ differs from what nbdev-export writes from nbs/: run .venv/bin/nbdev-export and commit" >&2
    exit 1
  fi
fi
.venv/bin/python tools/readme.py --check
bash tools/docs.sh  # the offline docs site (strict: a broken link or failing notebook fails here); tests/test_docs.py checks it in a browser
export IMGSEARCH_DOCS_SITE=$PWD/_docs  # the site just built: tests/test_docs.py checks this one instead of building another
export IMGSEARCH_TEST_FLAGS=${IMGSEARCH_TEST_FLAGS-slow}  # cells flagged slow (real servers, Ray, the shared sample) run here too
# two processes (pytest-xdist), one notebook or test file each at a time: about 1.5x faster than one on 2 cores;
# IMGSEARCH_TEST_WORKERS=0 runs everything in this process
exec .venv/bin/python -m pytest -n "${IMGSEARCH_TEST_WORKERS:-2}" --dist loadfile "$@"
