"""What the browser tests share: Debian's chromium driven by Playwright, and screenshots kept under `_test_outputs/`.

Needs chromium at /usr/bin/chromium (or $IMGSEARCH_CHROMIUM); `bash tools/browser.sh` installs Debian's. Playwright's
own browser download (`playwright install`) is never used. Without chromium the browser tests skip and say why."""
import os, shutil
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path(os.environ.get('IMGSEARCH_CHROMIUM', '/usr/bin/chromium'))
FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync']
no_chromium = pytest.mark.skipif(not CHROMIUM.is_file(),
                                 reason=f'no chromium at {CHROMIUM}: run `bash tools/browser.sh` (apt-get install chromium) or set IMGSEARCH_CHROMIUM')

def shot(page, tmp_path, name, outputs, full_page=True):
    "Save a screenshot in the test's folder and copy it to `outputs` (a folder under _test_outputs/)."
    f = tmp_path/f'{name}.png'
    page.screenshot(path=str(f), full_page=full_page)
    outputs.mkdir(parents=True, exist_ok=True)
    shutil.copy(f, outputs/f.name)
    return f
