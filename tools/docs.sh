#!/usr/bin/env bash
# Build the documentation site from the notebooks, offline, into _docs/ (or the folder given as the first argument).
# nbdev processes the notebooks (show_doc rendered, #| hide cells dropped) and mkdocs-material builds the site; the
# notebooks are not executed: pages show the outputs stored in them. Quarto users can run `nbdev-docs` instead.
# Open _docs/index.html through a web server (site search needs one): .venv/bin/python -m http.server -d _docs
# A notebook that nbdev cannot process fails the build; IMGSEARCH_DOCS_KEEP_GOING=1 builds the site without it.
# The command and HTTP API references and the source pages are generated from the code at each build (tools/docs_pages.py).
# For a published repository, IMGSEARCH_DOCS_SOURCE_URL=https://github.com/OWNER/imgsearch/blob/main points the
# "source" links there instead of at the source pages, and IMGSEARCH_DOCS_REPO_URL adds the repository to the header.
set -euo pipefail
out=$(realpath -m "${1:-$(dirname "$0")/../_docs}")
cd "$(dirname "$0")/.."
bash tools/setup.sh
SECONDS=0
.venv/bin/python tools/docs_prep.py ${IMGSEARCH_DOCS_KEEP_GOING:+--keep-going}
NO_MKDOCS_2_WARNING=1 .venv/bin/mkdocs build --quiet --clean --strict --site-dir "$out"
echo "docs: built $(find "$out" -name '*.html' ! -name 404.html | wc -l) pages into $out in ${SECONDS} s"
