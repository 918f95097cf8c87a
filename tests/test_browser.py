"""End-to-end test of the web app: the real `imgsearch-serve` (gunicorn, 2 workers) on the built sample,
driven in headless Debian chromium through Playwright: type a query, see ranked results, page forward, open
"more like this", open an image's page (by mouse and by keyboard), search by a picture (chosen, dropped or pasted)
and page through its results, the layout on a phone, and the same search with JavaScript off. Screenshots go to the
test's temporary folder and are copied to `_test_outputs/browser/`.

Needs chromium: see `_browser.py`."""
import base64, json, os, re, shutil, signal, subprocess, sys, time, urllib.error, urllib.request
from pathlib import Path
import pytest

from _browser import ROOT, no_chromium, shot
from imgsearch.layout import Layout
from imgsearch.serve import free_port, wait_healthy

OUTPUTS = ROOT/'_test_outputs'/'browser'
pytestmark = no_chromium

def _get(url):
    with urllib.request.urlopen(url, timeout=30) as r: return json.load(r)

def _post_json(url, data):
    req = urllib.request.Request(url, data=data, headers={'Content-Type': 'image/png'})
    with urllib.request.urlopen(req, timeout=60) as r: return json.load(r)

@pytest.fixture(scope='module')
def server(tmp_path_factory):
    "The built sample served by `imgsearch-serve` (gunicorn) on a free loopback port; yields (url, sample folder, the server's TMPDIR)."
    from imgsearch.pipeline import build_sample
    sample = build_sample()  # this test run's sample ($IMGSEARCH_SAMPLE, see conftest.py), shared with the notebooks
    port, log, tmp = free_port(), tmp_path_factory.mktemp('server')/'server.log', tmp_path_factory.mktemp('server-tmp')
    cmd = [str(Path(sys.executable).parent/'imgsearch-serve'), str(sample), '--port', str(port), '--workers', '2']
    with open(log, 'w') as f:
        p = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, start_new_session=True, env={**os.environ, 'TMPDIR': str(tmp)})
    url = f'http://127.0.0.1:{port}/'
    try:
        try: wait_healthy(url, p, timeout=180)
        except (RuntimeError, TimeoutError): pytest.fail(f'server did not start:\n{log.read_text()}')
        yield url, sample, tmp
    finally:
        os.killpg(p.pid, signal.SIGTERM)
        try: p.wait(30)
        except subprocess.TimeoutExpired: os.killpg(p.pid, signal.SIGKILL)
    assert f'imgsearch: serving' in log.read_text() and url in log.read_text(), log.read_text()
    assert not list(tmp.glob('imgsearch-uploads-*')), list(tmp.iterdir())  # the uploads folder goes with the server

def _shot(page, tmp_path, name, full_page=True): return shot(page, tmp_path, name, OUTPUTS, full_page)

def _watch(page):
    "The console errors and uncaught exceptions of `page`, as a list that fills while the test runs."
    problems = []
    page.on('console', lambda m: m.type == 'error' and problems.append(f'{page.url}: {m.text}'))
    page.on('pageerror', lambda e: problems.append(f'{page.url}: {e}'))
    return problems

def _hits(page):
    "(id, score) of each result on the page, in page order."
    ids = [re.search(r'id=([^&]+)', a.get_attribute('href')).group(1) for a in page.locator('.hit a.similar').all()]
    scores = [float(s) for s in page.locator('.hit .score').all_inner_texts()]
    return [(urllib.request.unquote(i), s) for i, s in zip(ids, scores)]

def _images_loaded(page, sel='.hit img'):
    return page.evaluate('s => { const im = Array.from(document.querySelectorAll(s)); return im.length > 0 && im.every(i => i.complete && i.naturalWidth > 0); }', sel)

def _rows(sample):
    "The sample's collection rows: id, path and tags."
    return [json.loads(l) for l in Layout(sample).collection.read_text().splitlines() if l.strip()]

def test_search_page_forward_similar_upload(server, browser, tmp_path):
    url, sample, tmp = server
    tag = _get(url + 'api/tags?n=1')['tags'][0]['tag']
    page = browser.new_page(viewport={'width': 1280, 'height': 900})
    problems = _watch(page)
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

    # upload a drawing of the collection: it finds itself first, under a preview of the picture
    first = _rows(sample)[0]
    page.locator('form.upload input[type=file]').set_input_files(first['path'])
    page.locator('form.upload button').click()
    page.wait_for_url(re.compile(r'/search/image\?upload=[0-9a-f]{32}$'))
    page.wait_for_load_state('networkidle')
    assert page.locator('h1').inner_text() == 'Images like your picture'
    assert _images_loaded(page, 'img.upload-preview') and _images_loaded(page)
    up1 = _hits(page)
    assert len(up1) == 24 and up1[0][0] == first['id'], up1[:3]
    assert len(list(tmp.glob('imgsearch-uploads-*/*.jpg'))) == 1  # kept by the server, in its temporary folder
    _shot(page, tmp_path, 'upload')

    # page 2 of the same picture (gunicorn has two workers: whichever answers knows the upload)
    page.locator('a[rel=next]').click()
    page.wait_for_url(re.compile(r'/search/image\?upload=[0-9a-f]{32}&offset=24'))
    page.wait_for_load_state('networkidle')
    up2 = _hits(page)
    assert up2 and not {i for i, _ in up1} & {i for i, _ in up2}
    assert up2[0][1] <= up1[-1][1] + 1e-6 and page.locator('ol.grid').get_attribute('start') == '25'
    api = _post_json(url + 'api/search/image?k=24&offset=24&collapse=1', Path(first['path']).read_bytes())
    assert [i for i, _ in up2] == [r['id'] for r in api['results']]  # the same query's page 2
    assert page.locator('h1').inner_text() == 'Images like your picture' and _images_loaded(page, 'img.upload-preview')
    for _ in range(4):  # fresh connections, so that both workers answer some
        with urllib.request.urlopen(page.url, timeout=60) as r: assert r.read().count(b'class="hit"') == len(up2)
    _shot(page, tmp_path, 'upload-page2')
    assert not problems, problems
    page.close()

def test_image_page(server, browser, tmp_path):
    "A result's thumbnail opens the image's page, by mouse and by keyboard (Tab, Enter); its links work; no console errors, also on the original."
    url, sample, _ = server
    rows = {r['id']: r for r in _rows(sample)}
    tag = _get(url + 'api/tags?n=1')['tags'][0]['tag']
    page = browser.new_page(viewport={'width': 1280, 'height': 900})
    problems = _watch(page)
    page.goto(url + f'search?q={urllib.request.quote(tag)}')
    page.wait_for_load_state('networkidle')
    hits = _hits(page)

    # keyboard: Tab from the top of the page reaches the first result's thumbnail, Enter opens its page
    for _ in range(30):
        page.keyboard.press('Tab')
        if page.evaluate('document.activeElement.matches(".hit a.thumb")'): break
    focused = page.evaluate('document.activeElement.getAttribute("href")')
    assert focused == '/view/' + urllib.request.quote(hits[0][0], safe='/'), focused
    _shot(page, tmp_path, 'keyboard-focus', full_page=False)
    page.keyboard.press('Enter')
    page.wait_for_url(re.compile(r'/view/'))
    page.wait_for_load_state('networkidle')
    row = rows[hits[0][0]]
    assert page.locator('h1').inner_text() == Path(row['path']).name
    assert page.locator('.id code').inner_text() == row['id']
    assert _images_loaded(page, 'img.large')
    about = _get(url + f'api/image?id={urllib.request.quote(row["id"])}')
    assert page.locator('.tags.own a.tag').all_inner_texts() == about['tags'] == row['tags']
    assert page.locator('ul.suggested a.tag').all_inner_texts() == [s['tag'] for s in about['suggested']] and about['suggested']
    assert page.locator('ul.suggested .confidence').first.inner_text() == f"{int(about['suggested'][0]['confidence'] * 100)}%"
    assert re.fullmatch(r'PNG · \d+ × \d+ pixels · \d+ (KB|bytes)', page.locator('.format').inner_text())
    _shot(page, tmp_path, 'image-page')

    # its links: a tag searches for that tag, "more like this", the original
    page.locator('.tags.own a.tag').first.click()
    page.wait_for_url(re.compile(r'/search\?q=.*mode=tag'))
    assert page.locator('h1').inner_text() == f'Results for “{row["tags"][0]}”'
    page.go_back()
    page.locator('.actions a.similar').click()
    page.wait_for_url(re.compile(r'/similar\?id='))
    assert row['id'] in page.locator('h1').inner_text()
    page.go_back()
    page.locator('.actions a.original').click()
    page.wait_for_url(re.compile(r'/image/'))
    page.wait_for_load_state('networkidle')
    assert page.evaluate('document.images.length === 1 && document.images[0].naturalWidth > 0')  # the browser's own viewer, no errors
    page.go_back()

    # the mouse: the second result's thumbnail
    page.go_back(); page.wait_for_url(re.compile(r'/search\?'))
    page.locator('.hit a.thumb').nth(1).click()
    page.wait_for_url(re.compile(r'/view/'))
    assert page.locator('.id code').inner_text() == hits[1][0]
    assert not problems, problems
    page.close()

def _drag(page, data, name, mime, event):
    "Dispatch a drag event `event` carrying a file `name` of `mime` with bytes `data`, built in the page, on the page's main area."
    page.evaluate('''([b64, name, mime, event]) => {
        const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
        const dt = new DataTransfer();
        dt.items.add(new File([bytes], name, {type: mime}));
        document.querySelector('main').dispatchEvent(new DragEvent(event, {dataTransfer: dt, bubbles: true, cancelable: true}));
    }''', [base64.b64encode(data).decode(), name, mime, event])

def test_drop_and_paste(server, browser, tmp_path):
    "A picture dropped on the page, or pasted with Ctrl+V, searches like the upload form; a file that is no picture is refused with a note."
    url, sample, _ = server
    rows = _rows(sample)
    ctx = browser.new_context(viewport={'width': 1280, 'height': 900}, permissions=['clipboard-read', 'clipboard-write'])
    page = ctx.new_page()
    problems = _watch(page)
    page.goto(url + 'search?q=' + urllib.request.quote(rows[0]['tags'][0]))
    page.wait_for_load_state('networkidle')
    assert page.locator('.drop-hint').is_visible()  # shown by the script that makes it true

    _drag(page, b'just words', 'notes.txt', 'text/plain', 'drop')
    assert page.locator('.upload-note').inner_text() == '“notes.txt” is not a picture: drop or paste an image file.'
    assert '/search?' in page.url

    # drop: a DataTransfer holding a File, as the browser makes when a file is dragged in
    dropped = rows[3]
    _drag(page, Path(dropped['path']).read_bytes(), 'drawing.png', 'image/png', 'dragenter')
    assert page.evaluate('document.body.classList.contains("dropping")')
    _shot(page, tmp_path, 'drop-overlay', full_page=False)
    with page.expect_navigation(url=re.compile(r'/search/image\?upload=[0-9a-f]{32}$')):
        _drag(page, Path(dropped['path']).read_bytes(), 'drawing.png', 'image/png', 'drop')
    page.wait_for_load_state('networkidle')
    assert page.locator('h1').inner_text() == 'Images like your picture' and _images_loaded(page, 'img.upload-preview')
    assert _hits(page)[0][0] == dropped['id']
    _shot(page, tmp_path, 'dropped')

    # paste: the picture on the clipboard (the async clipboard API), then Ctrl+V on the page
    pasted = rows[7]
    page.evaluate('''async b64 => {
        const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
        await navigator.clipboard.write([new ClipboardItem({'image/png': new Blob([bytes], {type: 'image/png'})})]);
    }''', base64.b64encode(Path(pasted['path']).read_bytes()).decode())
    page.locator('h1').click()
    with page.expect_navigation(url=re.compile(r'/search/image\?upload=[0-9a-f]{32}$')):
        page.keyboard.press('Control+V')
    page.wait_for_load_state('networkidle')
    assert page.locator('h1').inner_text() == 'Images like your picture' and _hits(page)[0][0] == pasted['id']
    _shot(page, tmp_path, 'pasted')
    assert not problems, problems
    ctx.close()

def _phone_checks(page, path, grid=True):
    "No sideways scrolling, the search button whole, and (`grid`) two results per row."
    width = page.evaluate('[document.documentElement.scrollWidth, window.innerWidth]')
    assert width == [390, 390], (path, width)  # no sideways scrolling (a wider page would widen a phone's layout viewport too)
    button = page.locator('form.search button').bounding_box()
    assert button['x'] >= 0 and button['x'] + button['width'] <= width[1], (path, button)
    assert page.locator('form.search button').inner_text() == 'Search'
    if grid:
        boxes = [h.bounding_box() for h in page.locator('.hit').all()[:4]]
        assert len(boxes) == 4 and boxes[0]['y'] == boxes[1]['y'] < boxes[2]['y'] == boxes[3]['y'], boxes  # two per row
        assert all(b['x'] >= 0 and b['x'] + b['width'] <= width[1] for b in boxes), boxes

def test_phone_layout(server, browser, tmp_path):
    "At 390 x 844 (a phone): no page is wider than the screen, the search button shows whole, two results per row; an image's page and a picture's results too."
    url, sample, _ = server
    tag = _get(url + 'api/tags?n=1')['tags'][0]['tag']
    page = browser.new_page(viewport={'width': 390, 'height': 844}, device_scale_factor=2, is_mobile=True, has_touch=True)
    rows = _rows(sample)
    longest = max((r['id'] for r in rows), key=len)
    for path in ('', f'search?q={urllib.request.quote(tag)}', f'search?q={urllib.request.quote(tag)}&mode=semantic&min_score=-1&offset=96',
                 f'similar?id={urllib.request.quote(longest)}'):
        page.goto(url + path)
        page.wait_for_load_state('networkidle')
        _phone_checks(page, path, grid=bool(path))
        _shot(page, tmp_path, 'phone-' + (path.split('?')[0] or 'home') + ('-page5' if 'offset' in path else ''))

    page.goto(url + 'view/' + urllib.request.quote(longest))  # an image's page: the picture and its facts, one above the other
    page.wait_for_load_state('networkidle')
    _phone_checks(page, 'view', grid=False)
    pic, facts = page.locator('img.large').bounding_box(), page.locator('.facts').bounding_box()
    assert _images_loaded(page, 'img.large') and 0 <= pic['x'] and pic['x'] + pic['width'] <= 390 and pic['y'] + pic['height'] <= facts['y'], (pic, facts)
    _shot(page, tmp_path, 'phone-view')

    page.locator('form.upload input[type=file]').set_input_files(rows[0]['path'])  # a picture's results
    page.locator('form.upload button').click()
    page.wait_for_url(re.compile(r'/search/image\?upload='))
    page.wait_for_load_state('networkidle')
    _phone_checks(page, 'upload')
    assert _images_loaded(page, 'img.upload-preview')
    _shot(page, tmp_path, 'phone-upload')
    page.close()

def test_without_javascript(server, browser, tmp_path):
    url, _, _ = server
    ctx = browser.new_context(java_script_enabled=False)
    page = ctx.new_page()
    page.goto(url)
    assert not page.locator('.drop-hint').is_visible()  # dropping and pasting need the script: no hint without it
    page.locator('form.search input[name=q]').fill('<script>alert(1)</script>')
    page.locator('form.search button').click()
    page.wait_for_url(re.compile(r'/search\?'))
    assert page.locator('h1').inner_text() == 'Results for “<script>alert(1)</script>”'  # shown as text
    page.locator('form.search input[name=q]').fill('zzqxv')
    page.locator('form.search select[name=mode]').select_option('tag')
    page.locator('form.search button').click()
    page.wait_for_url(re.compile(r'mode=tag'))
    assert page.locator('#empty').is_visible() and page.locator('.hit').count() == 0
    assert page.locator('#empty p').first.inner_text() == 'Nothing matched “zzqxv”: the word vectors do not know “zzqxv” and no image is tagged with it.'
    _shot(page, tmp_path, 'empty')
    ctx.close()
