"""The offline documentation site: built by `bash tools/docs.sh DIR` (nbdev's processing, then mkdocs-material),
served over HTTP on a free loopback port and opened in headless Debian chromium through Playwright. Every page loads
without console errors, every internal link and anchor resolves, the site search finds a public function, and the API
reference shows a signature with its docments. Screenshots of the home page and an API page go to the test's
temporary folder and are copied to `_test_outputs/docs/`.

Needs chromium: see `_browser.py`."""
import functools, http.server, json, os, re, shutil, subprocess, threading, urllib.parse
from pathlib import Path
import pytest

from _browser import ROOT, no_chromium, shot

OUTPUTS = ROOT/'_test_outputs'/'docs'

def _notebooks():
    "The notebooks the site shows, in file-name order (nbdev skips names starting with `_` or `.`)."
    return sorted(p for p in (ROOT/'nbs').glob('*.ipynb') if not p.name.startswith(('_', '.')))

@pytest.fixture(scope='module')
def site(tmp_path_factory):
    "The site built by the documented command into a temporary folder."
    out = tmp_path_factory.mktemp('docs')/'site'
    r = subprocess.run(['bash', str(ROOT/'tools'/'docs.sh'), str(out)], capture_output=True, text=True, timeout=1200)
    assert r.returncode == 0, f'tools/docs.sh failed:\n{r.stdout[-4000:]}\n{r.stderr[-8000:]}'
    return out

@pytest.fixture(scope='module')
def server(site):
    "The site served by the standard library's http.server on a free 127.0.0.1 port; yields its base URL."
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *a): pass
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(Quiet, directory=str(site)))
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f'http://127.0.0.1:{srv.server_port}/'
    srv.shutdown()
    srv.server_close()

def _shot(page, tmp_path, name, full_page=True): return shot(page, tmp_path, name, OUTPUTS, full_page)

def test_a_page_per_notebook(site):
    "One page per notebook, named like it, listed in the sidebar in pipeline order with the home page first."
    nbs = _notebooks()
    pages = [f'{p.stem}.html' for p in nbs]
    for p in pages: assert (site/p).is_file(), p
    html = (site/'index.html').read_text(encoding='utf-8')
    nav = html[html.index('md-nav--primary'):html.index('md-sidebar--secondary')]
    order = list(dict.fromkeys(re.findall(r'<a href="([\w.-]+\.html)" class="md-nav__link', nav)))
    assert order == ['index.html'] + [p for p in pages if p != 'index.html'], order
    for nb in nbs:  # images the notebooks reference are copied with the pages
        for img in re.findall(r'\]\((images/[^)\s]+)\)', nb.read_text(encoding='utf-8')): assert (site/img).is_file(), img

def test_every_public_function_has_an_api_entry(site):
    "Each public function and class nbdev exported has its `show_doc` entry (a heading with its anchor) on its notebook's page."
    from imgsearch._modidx import d
    pages = {re.sub(r'^\d+[a-z]?_', '', p.stem): p.stem for p in _notebooks()}  # nbdev's page name -> notebook
    missing = []
    for mod, syms in d['syms'].items():
        for qual, (url, _) in syms.items():
            name = qual[len(mod) + 1:]
            if '.' in name or name.startswith('_'): continue  # methods are shown where the notebook chooses; private helpers are not
            page, _, anchor = url.partition('#')
            html = (site/f'{pages[page.removesuffix(".html")]}.html').read_text(encoding='utf-8')
            slug = re.sub(r'[^\w-]', '', anchor).lower()  # the id mkdocs gives the heading `TagIndex.complete`
            if f'id="{slug}"' not in html: missing.append(qual)
    assert not missing, f'no API entry on the docs site for {missing}'

def test_hidden_cells_and_directives_not_shown(site):
    "`#| hide` cells are left out and no `#|` directive shows in the code on any page."
    for nb in _notebooks():
        page = (site/f'{nb.stem}.html').read_text(encoding='utf-8')
        code = ' '.join(re.findall(r'<code>(.*?)</code>', page, flags=re.S))
        text = re.sub(r'\s+', ' ', re.sub(r'<[^>]+>', '', code))
        assert '#|' not in text, (nb.name, text[text.index('#|') - 80:text.index('#|') + 80])
        for cell in json.loads(nb.read_text(encoding='utf-8'))['cells']:
            src = ''.join(cell['source'])
            if cell['cell_type'] != 'code' or not re.match(r'\s*#\|\s*hide\s*$', src.splitlines()[0] if src else ''): continue
            body = re.sub(r'\s+', ' ', '\n'.join(l for l in src.splitlines() if not l.lstrip().startswith('#|'))).strip()
            body = body.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')
            if body: assert body not in text, (nb.name, body[:120])

@no_chromium
def test_every_page_loads_and_links_resolve(site, server, browser):
    """Crawl the site from the home page: each page 200, no console errors, nothing fetched from outside, images
    loaded, every link and anchor found."""
    page = browser.new_page(viewport={'width': 1280, 'height': 900})
    problems, seen, todo, ids, anchors, outside = [], set(), ['index.html'], {}, [], []
    page.on('request', lambda r: r.url.startswith((server, 'data:', 'blob:')) or outside.append(r.url))
    page.on('console', lambda m: m.type == 'error' and problems.append(f'{page.url}: {m.text}'))
    page.on('pageerror', lambda e: problems.append(f'{page.url}: {e}'))
    while todo:
        path = todo.pop(0)
        if path in seen: continue
        seen.add(path)
        r = page.goto(server + path)
        assert r is not None and r.status == 200, (path, r and r.status)
        page.wait_for_load_state('load')
        assert page.evaluate('Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)'), f'{path}: an image did not load'
        ids[path] = set(page.evaluate('Array.from(document.querySelectorAll("[id]")).map(e => e.id)'))
        for href in page.evaluate('Array.from(document.querySelectorAll("a[href]")).map(a => a.href)'):
            u = urllib.parse.urlsplit(href)
            if f'{u.scheme}://{u.netloc}/' != server: continue  # outside the site (GitHub source links, ...)
            target = u.path.lstrip('/') or 'index.html'
            if target.endswith('/'): target += 'index.html'
            if target.endswith('.html'): todo.append(target)
            else:  # an asset or download: it must be there
                assert (site/urllib.parse.unquote(target)).is_file(), (path, href)
            if u.fragment: anchors.append((path, target, urllib.parse.unquote(u.fragment)))
    expected = {f'{p.stem}.html' for p in _notebooks()}
    assert expected <= seen, expected - seen
    for src, target, frag in anchors:
        assert frag in ids[target], f'{src} links to {target}#{frag}, which has no such anchor'
    assert not problems, problems
    assert not outside, f'the site fetches from outside (it must work offline): {outside}'
    page.close()

@no_chromium
def test_search_finds_a_function(server, browser):
    "Typing a public function's name in the search box lists the API entry on its notebook's page."
    page = browser.new_page(viewport={'width': 1280, 'height': 900})
    problems = []
    page.on('console', lambda m: m.type == 'error' and problems.append(m.text))
    page.goto(server + 'index.html')
    page.locator('label.md-search__icon, .md-search__input').first.click()
    box = page.locator('input.md-search__input')
    box.press_sequentially('build_index', delay=30)
    hit = page.locator('.md-search-result__list a[href*="01_tag_index.html"][href$="#build_index"]')
    hit.first.wait_for(state='visible', timeout=15000)
    assert 'build_index' in hit.first.inner_text()
    hit.first.click()
    page.wait_for_url(re.compile(r'/01_tag_index\.html(\?[^#]*)?#build_index$'))  # `?h=` highlights the words
    assert page.locator('h3#build_index').is_visible()
    assert not problems, problems
    page.close()

@no_chromium
def test_api_reference_shows_signature_and_docments(server, browser, tmp_path):
    "The API reference renders `show_doc`: the signature with each parameter's docment, as nbdev's own renderer writes it."
    from fastcore.docments import docments
    from imgsearch.build import build_collection
    page = browser.new_page(viewport={'width': 1280, 'height': 900})
    page.goto(server + 'index.html')
    _shot(page, tmp_path, 'home')
    page.goto(server + '04_build.html#build_collection')
    head = page.locator('h3#build_collection')
    assert head.is_visible()
    sig = head.locator('xpath=following-sibling::div[contains(@class, "highlight")][1]').inner_text()
    assert sig.startswith('def build_collection(')
    docs = docments(build_collection)
    assert 'backbone' in sig and f'# {docs["backbone"]}' in sig, sig
    for name, doc in docs.items():
        if name != 'return' and doc: assert f'# {doc}' in sig, (name, doc)
    doc = head.locator('xpath=following-sibling::p[1]').inner_text()
    assert doc == build_collection.__doc__.strip().replace('`', ''), doc  # the one-line docstring (its `code` rendered)
    _shot(page, tmp_path, 'api_build', full_page=False)
    page.close()
