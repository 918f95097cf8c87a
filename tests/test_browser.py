"""End-to-end test of the web app: the real `imgsearch-serve` (gunicorn, 2 workers) on the built sample,
driven in headless Debian chromium through Playwright: type a query, see ranked results, page forward, open
"more like this", upload a picture, and the same search with JavaScript off. Screenshots go to the test's temporary
folder and are copied to `_test_outputs/browser/`.

Needs chromium: see `_browser.py`."""
import json, os, re, shutil, signal, socket, subprocess, sys, time, urllib.error, urllib.request
from pathlib import Path
import pytest

from _browser import ROOT, no_chromium, shot

OUTPUTS = ROOT/'_test_outputs'/'browser'
pytestmark = no_chromium

def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]

def _get(url):
    with urllib.request.urlopen(url, timeout=30) as r: return json.load(r)

@pytest.fixture(scope='module')
def server(tmp_path_factory):
    "The built sample served by `imgsearch-serve` (gunicorn) on a free loopback port; yields (url, sample folder)."
    from imgsearch.evaluate import build_sample
    sample = build_sample(tmp_path_factory.mktemp('browser')/'sample')
    port, log = _free_port(), tmp_path_factory.mktemp('server')/'server.log'
    cmd = [str(Path(sys.executable).parent/'imgsearch-serve'), str(sample), '--port', str(port), '--workers', '2']
    with open(log, 'w') as f: p = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, start_new_session=True)
    url, t0 = f'http://127.0.0.1:{port}/', time.time()
    try:
        while True:
            try:
                _get(url + 'healthz')
                break
            except (urllib.error.URLError, ConnectionError):
                if p.poll() is not None or time.time() - t0 > 180: pytest.fail(f'server did not start:\n{log.read_text()}')
                time.sleep(0.3)
        yield url, sample
    finally:
        os.killpg(p.pid, signal.SIGTERM)
        try: p.wait(30)
        except subprocess.TimeoutExpired: os.killpg(p.pid, signal.SIGKILL)
    assert f'imgsearch: serving' in log.read_text() and url in log.read_text(), log.read_text()

def _shot(page, tmp_path, name): return shot(page, tmp_path, name, OUTPUTS)

def _hits(page):
    "(id, score) of each result on the page, in page order."
    ids = [re.search(r'id=([^&]+)', a.get_attribute('href')).group(1) for a in page.locator('.hit a.similar').all()]
    scores = [float(s) for s in page.locator('.hit .score').all_inner_texts()]
    return [(urllib.request.unquote(i), s) for i, s in zip(ids, scores)]

def _images_loaded(page):
    return page.evaluate('Array.from(document.querySelectorAll(".hit img")).every(i => i.complete && i.naturalWidth > 0)')

def test_search_page_forward_similar_upload(server, browser, tmp_path):
    url, sample = server
    tag = _get(url + 'api/tags?n=1')['tags'][0]['tag']
    page = browser.new_page(viewport={'width': 1280, 'height': 900})
    problems = []
    page.on('console', lambda m: m.type == 'error' and problems.append(m.text))
    page.on('pageerror', lambda e: problems.append(str(e)))
    page.goto(url)
    assert page.title() == 'imgsearch'

    # type a query (the autocomplete list is refreshed from /api/tags while typing), press Enter
    box = page.locator('form.search input[name=q]')
    assert page.locator('#tags option').count() > 12  # the server's list of frequent tags
    with page.expect_response(lambda r: '/api/tags' in r.url and r.status == 200):
        box.press_sequentially(tag[:2], delay=50)
    page.wait_for_function('t => { const os = document.querySelectorAll("#tags option");'
                           ' return os.length <= 12 && Array.from(os).some(o => o.value === t); }', arg=tag)
    box.fill(tag)
    box.press('Enter')
    page.wait_for_url(re.compile(r'/search\?'))
    page.wait_for_load_state('networkidle')
    hits = _hits(page)
    assert len(hits) == 24, hits
    scores = [s for _, s in hits]
    assert scores == sorted(scores, reverse=True), scores
    api = _get(url + f'api/search?q={urllib.request.quote(tag)}&k=24&collapse=1')  # pages hide near-duplicates
    assert [i for i, _ in hits] == [r['id'] for r in api['results']]
    assert page.locator('h1').inner_text() == f'Results for “{tag}”'
    assert _images_loaded(page)
    _shot(page, tmp_path, 'results')
    page.locator('h1').click(); page.keyboard.press('/')  # '/' from anywhere puts the cursor in the search box
    assert page.evaluate('document.activeElement && document.activeElement.name') == 'q'

    # page forward: the next page starts at 25 and shows other images
    page.locator('a[rel=next]').click()
    page.wait_for_url(re.compile(r'offset=24'))
    assert page.locator('ol.grid').get_attribute('start') == '25'
    hits2 = _hits(page)
    assert hits2 and not {i for i, _ in hits} & {i for i, _ in hits2}
    assert hits2[0][1] <= scores[-1] + 1e-6
    assert page.locator('a[rel=prev]').count() == 1

    # more like this, from the first result of page 2
    target = hits2[0][0]
    page.locator('.hit a.similar').first.click()
    page.wait_for_url(re.compile(r'/similar\?id='))
    page.wait_for_load_state('networkidle')
    assert target in page.locator('h1').inner_text()
    assert page.locator('img.query-image').count() == 1
    sim = _hits(page)
    assert len(sim) == 24 and target not in [i for i, _ in sim], sim[:3]  # its neighbours, not itself
    assert [s for _, s in sim] == sorted([s for _, s in sim], reverse=True)
    assert [i for i, _ in sim] == [r['id'] for r in _get(url + f'api/similar?id={urllib.request.quote(target)}&k=24&collapse=1')['results']]
    assert _images_loaded(page)
    _shot(page, tmp_path, 'similar')

    # upload a drawing of the collection: it finds itself first
    first_path = json.loads((sample/'collection.jsonl').read_text().splitlines()[0])
    page.locator('form.upload input[type=file]').set_input_files(first_path['path'])
    page.locator('form.upload button').click()
    page.wait_for_load_state('networkidle')
    assert page.locator('h1').inner_text() == 'Images like your picture'
    assert _hits(page)[0][0] == first_path['id']
    _shot(page, tmp_path, 'upload')
    assert not problems, problems
    page.close()

def test_phone_layout(server, browser, tmp_path):
    "At 390 x 844 (a phone): no page is wider than the screen, the search button shows whole, two results per row."
    url, sample = server
    tag = _get(url + 'api/tags?n=1')['tags'][0]['tag']
    page = browser.new_page(viewport={'width': 390, 'height': 844}, device_scale_factor=2, is_mobile=True, has_touch=True)
    longest = max((json.loads(l)['id'] for l in (sample/'collection.jsonl').read_text().splitlines()), key=len)
    for path in ('', f'search?q={urllib.request.quote(tag)}', f'search?q={urllib.request.quote(tag)}&mode=semantic&min_score=-1&offset=96',
                 f'similar?id={urllib.request.quote(longest)}'):
        page.goto(url + path)
        page.wait_for_load_state('networkidle')
        width = page.evaluate('[document.documentElement.scrollWidth, window.innerWidth]')
        assert width == [390, 390], (path, width)  # no sideways scrolling (a wider page would widen a phone's layout viewport too)
        button = page.locator('form.search button').bounding_box()
        assert button['x'] >= 0 and button['x'] + button['width'] <= width[1], (path, button)
        assert page.locator('form.search button').inner_text() == 'Search'
        if path:
            boxes = [h.bounding_box() for h in page.locator('.hit').all()[:4]]
            assert len(boxes) == 4 and boxes[0]['y'] == boxes[1]['y'] < boxes[2]['y'] == boxes[3]['y'], boxes  # two per row
            assert all(b['x'] >= 0 and b['x'] + b['width'] <= width[1] for b in boxes), boxes
        _shot(page, tmp_path, 'phone-' + (path.split('?')[0] or 'home') + ('-page5' if 'offset' in path else ''))
    page.close()

def test_without_javascript(server, browser, tmp_path):
    url, _ = server
    ctx = browser.new_context(java_script_enabled=False)
    page = ctx.new_page()
    page.goto(url)
    page.locator('form.search input[name=q]').fill('<script>alert(1)</script>')
    page.locator('form.search button').click()
    page.wait_for_url(re.compile(r'/search\?'))
    assert page.locator('h1').inner_text() == 'Results for “<script>alert(1)</script>”'  # shown as text
    page.locator('form.search input[name=q]').fill('zzqxv')
    page.locator('form.search select[name=mode]').select_option('tag')
    page.locator('form.search button').click()
    page.wait_for_url(re.compile(r'mode=tag'))
    assert page.locator('#empty').is_visible() and page.locator('.hit').count() == 0
    _shot(page, tmp_path, 'empty')
    ctx.close()
