#!/usr/bin/env bash
# Create the project's virtual environment in .venv and install imgsearch with everything it needs.
# Re-running it installs nothing when pyproject.toml has not changed since the last install.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "imgsearch: creating .venv with $($PY --version)"
  "$PY" -m venv .venv
fi
stamp=.venv/.imgsearch-installed
want=$(sha256sum pyproject.toml | cut -c1-32)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "imgsearch: installing dependencies into .venv (torch, torchvision, timm, gensim, nbdev, ...)"
  # no pip cache: the wheels would be kept a second time on disk (several GB with torch's CUDA build)
  extra=(--no-cache-dir)
  # wheels kept on this machine's disk (torch is several GB): use them when the folder exists
  [ -d /opt/wheels ] && extra+=(--find-links /opt/wheels)
  .venv/bin/python -m pip install -q --upgrade pip "${extra[@]}" 2>&1 | grep -v '^WARNING: Location' || true
  .venv/bin/python -m pip install -q "${extra[@]}" -e '.[dev]' 2>&1 | grep -v '^WARNING: Location' || true
  .venv/bin/python -c "import imgsearch, torch, torchvision, timm, gensim, nbdev" \
    || { echo "imgsearch: installation failed (see the messages above)" >&2; exit 1; }
  echo "$want" > "$stamp"
fi
