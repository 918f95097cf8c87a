import pytest
from _browser import CHROMIUM, FLAGS

@pytest.fixture(scope='module')
def browser():
    "Headless Debian chromium through Playwright, one per test module."
    sync_api = pytest.importorskip('playwright.sync_api', reason='playwright is not installed: pip install -e .[dev]')
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)
        yield b
        b.close()
