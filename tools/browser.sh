#!/usr/bin/env bash
# Make Debian's chromium available for the end-to-end browser test (Playwright drives /usr/bin/chromium).
# Installs it with apt-get as root (or through passwordless sudo); otherwise says why the browser test will skip.
set -uo pipefail
[ -x "${IMGSEARCH_CHROMIUM:-/usr/bin/chromium}" ] && exit 0
if ! command -v apt-get >/dev/null; then
  echo "imgsearch: no apt-get here: install chromium yourself (or set IMGSEARCH_CHROMIUM); the browser test will skip" >&2; exit 0
fi
sudo=()
if [ "$(id -u)" != 0 ]; then
  if sudo -n true 2>/dev/null; then sudo=(sudo -n)
  else echo "imgsearch: not root and no passwordless sudo: cannot apt-get install chromium; the browser test will skip" >&2; exit 0; fi
fi
echo "imgsearch: installing Debian's chromium for the browser test"
"${sudo[@]}" apt-get update -qq >/dev/null 2>&1 || true
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq chromium >/dev/null 2>&1 \
  || echo "imgsearch: apt-get install chromium failed; the browser test will skip" >&2
exit 0
