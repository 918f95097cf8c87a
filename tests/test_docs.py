"""The offline documentation site: built by `bash tools/docs.sh DIR` (nbdev's processing, then mkdocs-material),
served over HTTP on a free loopback port and opened in headless Debian chromium through Playwright. Every page loads
without console errors, every internal link and anchor resolves (the "source" links too), the site search finds a
public function and ranks an exact name first, every API entry shows its parameters in a table with their docments,
and the generated reference pages say what the code says (each command's `--help`, the app's OpenAPI description).
Screenshots go to the test's temporary folder and are copied to `_test_outputs/docs/`.

Needs chromium: see `_browser.py`."""
import functools, html, http.server, importlib, json, os, re, shutil, subprocess, sys, threading, urllib.parse
from pathlib import Path
import pytest

from _browser import ROOT, no_chromium, shot

OUTPUTS = ROOT/'_test_outputs'/'docs'

def _notebooks():
    "The notebooks the site shows, in file-name order (nbdev skips names starting with `_` or `.`)."
    return sorted(p for p in (ROOT/'nbs').glob('*.ipynb') if not p.name.startswith(('_', '.')))

REFERENCE = ['reference/commands.html', 'reference/http.html']  # the generated pages (tools/docs_pages.py)

def _text(fragment):
    "The text of an HTML fragment, tags dropped, entities decoded, spaces collapsed."
    return re.sub(r'\s+', ' ', html.unescape(re.sub(r'<[^>]+>', '', re.sub(r'<br\s*/?>', ' ', fragment)))).strip()

def _api_entries(site):
    "(page, anchor, name, the HTML up to the next entry or section) of every API entry (`show_doc`) on the site."
    out = []
    for f in sorted(site.glob('*.html')):
        page = f.read_text(encoding='utf-8')
        heads = list(re.finditer(r'<h3 class="api-entry" id="([^"]+)">(.*?)<a class="headerlink"', page))
        for i, m in enumerate(heads):
            end = min([heads[i + 1].start() if i + 1 < len(heads) else len(page)] + [j for j in (page.find('<hr', m.end()), page.find('<h2', m.end())) if j > 0])
            out.append((f.name, m.group(1), _text(m.group(2)), page[page.index('</h3>', m.end()) + 5:end]))
    return out

def _symbol(name, page):
    "The object an API entry named `name` on `page` documents (through nbdev's index of the package)."
    from imgsearch._modidx import d
    stem = re.sub(r'^\d+[a-z]?_', '', page.removesuffix('.html'))
    for mod, syms in d['syms'].items():
        for qual, (url, _) in syms.items():
            if qual == f'{mod}.{name}' and url.startswith(f'{stem}.html#'):
                obj = importlib.import_module(mod)
                for part in name.split('.'): obj = getattr(obj, part)
                return obj if hasattr(obj, '__signature__') else getattr(obj, '__wrapped__', obj)  # as show_doc unwraps
    return None

@pytest.fixture(scope='module')
def site(tmp_path_factory):
    """The site built by the documented command: the one `tools/test.sh` built just before the tests (it names it in
    `IMGSEARCH_DOCS_SITE`), else a fresh build into a temporary folder."""
    if os.environ.get('IMGSEARCH_DOCS_SITE'):
        out = Path(os.environ['IMGSEARCH_DOCS_SITE'])
        assert (out/'index.html').is_file(), f'IMGSEARCH_DOCS_SITE={out} holds no built site: run bash tools/docs.sh'
        return out
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
    """One page per notebook, named like it. The sidebar: the home page, the guides (notebooks named with a letter,
    e.g. the tutorial), the pipeline's notebooks in file-name order, the generated reference pages, then the test
    notebooks (`test_*`)."""
    nbs = _notebooks()
    pages = [f'{p.stem}.html' for p in nbs]
    for p in pages + REFERENCE: assert (site/p).is_file(), p
    tests = [p for p in pages if p.startswith('test_')]
    guides = [p for p in pages if p != 'index.html' and not p[0].isdigit() and p not in tests]
    assert 'photos.html' in guides and 'test_modules.html' in tests  # the tutorial; the library's own shape
    page = (site/'index.html').read_text(encoding='utf-8')
    nav = page[page.index('md-nav--primary'):page.index('md-sidebar--secondary')]
    order = list(dict.fromkeys(re.findall(r'<a href="([\w./-]+\.html)" class="md-nav__link', nav)))
    assert order == ['index.html'] + guides + [p for p in pages if p[0].isdigit()] + REFERENCE + tests, order
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
    loaded, every link and anchor found. Pages load side by side in a few tabs, each checked once it has loaded."""
    problems, seen, todo, ids, anchors, outside, loading = [], set(), ['index.html'], {}, [], [], []
    empty = json.dumps(dict(json.loads((site/'search'/'search_index.json').read_text(encoding='utf-8')), docs=[]))
    def tab():
        page = browser.new_page(viewport={'width': 1280, 'height': 900})
        # every page's search worker would index the whole site again (seconds of CPU each): here it gets an empty
        # index; the search itself is tested below
        page.route('**/search/search_index.json', lambda route: route.fulfill(status=200, content_type='application/json', body=empty))
        page.on('request', lambda r: r.url.startswith((server, 'data:', 'blob:')) or outside.append(r.url))
        page.on('console', lambda m: m.type == 'error' and problems.append(f'{page.url}: {m.text}'))
        page.on('pageerror', lambda e: problems.append(f'{page.url}: {e}'))
        return page
    tabs = [tab() for _ in range(4)]
    while todo or loading:
        while todo and len(loading) < len(tabs):  # start loading the next pages in the free tabs
            path = todo.pop(0)
            if path in seen: continue
            seen.add(path)
            page = next(t for t in tabs if all(t is not p for p, _ in loading))
            r = page.goto(server + path, wait_until='commit')
            assert r is not None and r.status == 200, (path, r and r.status)
            loading.append((page, path))
        if not loading: continue
        page, path = loading.pop(0)
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
    for t in tabs: t.close()

@no_chromium
def test_search_finds_a_function(server, browser):
    "Typing a public function's name in the search box lists the API entry on its notebook's page."
    page = browser.new_page(viewport={'width': 1280, 'height': 900})
    problems = []
    page.on('console', lambda m: m.type == 'error' and problems.append(m.text))
    page.goto(server + 'index.html')
    page.locator('label.md-search__icon, .md-search__input').first.click()
    box = page.locator('input.md-search__input')
    box.press_sequentially('build_tag_index', delay=30)
    hit = page.locator('.md-search-result__list a[href*="01_tagindex.html"][href$="#build_tag_index"]')
    hit.first.wait_for(state='visible', timeout=15000)
    assert 'build_tag_index' in hit.first.inner_text()
    hit.first.click()
    page.wait_for_url(re.compile(r'/01_tagindex\.html(\?[^#]*)?#build_tag_index$'))  # `?h=` highlights the words
    assert page.locator('h3#build_tag_index').is_visible()
    assert not problems, problems
    page.close()

def _docments(obj):
    "Each parameter of `obj` and its docment (fastcore's), those on one line sharing its comment as the site shows them."
    from fastcore.docments import docments
    sys.path.insert(0, str(ROOT/'tools'))
    from docs_prep import _same_line
    docs = {k: v for k, v in docments(obj).items() if k not in ('self', 'return')}
    for names in _same_line(obj):
        for n in names[:-1]:
            if n in docs and not docs[n]: docs[n] = docs.get(names[-1])
    return docs

def test_api_entries_show_parameter_tables(site):
    """Every API entry: its signature on lines of at most 100 characters, with no comments in it, then (when its
    parameters have docments) nbdev's table: Type, Default and Details, one row per parameter, holding its docment."""
    entries, tables = _api_entries(site), 0
    assert len(entries) > 100, len(entries)
    for page, anchor, name, body in entries:
        sig = re.match(r'\s*<div class="highlight"><pre><span></span><code>(.*?)</code>', body, re.S)
        assert sig, (page, name, body[:300])
        code = html.unescape(re.sub(r'<[^>]+>', '', sig.group(1)))
        assert code.startswith(name + '(') or '(' not in code, (page, name, code)
        assert ' # ' not in code and max(map(len, code.splitlines())) <= 100, (page, name, code)
        obj = _symbol(name, page)
        if obj is None or not callable(obj): continue
        docs = _docments(obj)
        if not any(docs.values()): continue
        tables += 1
        table = re.search(r'<table>(.*?)</table>', body, re.S)
        assert table, f'{page}#{anchor}: {name} has docments but no table'
        head = [_text(c) for c in re.findall(r'<th>(.*?)</th>', table.group(1), re.S)]
        assert head[-1] == 'Details', (name, head)
        rows = {_text(r[0]): _text(r[-1]) for r in (re.findall(r'<td>(.*?)</td>', tr, re.S) for tr in re.findall(r'<tr>(.*?)</tr>', table.group(1), re.S)) if r}
        for p, doc in docs.items():
            assert p in rows, (page, name, p, rows)
            assert rows[p] == (doc or '').replace('`', '').replace('\n', ' ').strip(), (page, name, p, rows[p], doc)
    assert tables > 100, tables

def test_source_links_resolve(site):
    """Built in the default mode, every API entry's "source" link opens a page of the site, at the line (`#L12`) that
    defines the entry; nothing links to the placeholder GitHub address any more."""
    from nbdev.config import get_config
    placeholder = f"github.com/{get_config().user}/{get_config().repo}/blob"  # where nbdev points "source" links
    n = 0
    for f in sorted(site.rglob('*.html')):
        page = f.read_text(encoding='utf-8')
        assert placeholder not in page, f'{f.name} links to {placeholder}'
        for m in re.finditer(r'<a class="source-link" href="([^"]+)">source</a></p>\s*<h3 class="api-entry" id="[^"]+">(.*?)<a', page):
            url, _, line = m.group(1).partition('#L')
            target = (f.parent/url).resolve()
            assert target.is_file() and site.resolve() in target.parents, (f.name, m.group(1))
            src = target.read_text(encoding='utf-8')
            at = re.search(rf'<span id="L{line}">(.*?)\n</span>', src, re.S)
            assert line and at, (f.name, m.group(1))
            name = _text(m.group(2)).rsplit('.', 1)[-1]
            assert re.match(rf'(async )?(def|class) {re.escape(name)}\b', _text(at.group(1))), (f.name, m.group(1), _text(at.group(1)))
            n += 1
    assert n > 100, n

def test_source_links_to_a_published_repository():
    "With IMGSEARCH_DOCS_SOURCE_URL the source links point at the published repository's file, at the same line."
    sys.path.insert(0, str(ROOT/'tools'))
    from docs_prep import fix_source_links
    blob = 'https://github.com/imgsearch/imgsearch/blob/main/'
    md = f'x\n\n[source]({blob}imgsearch/search.py#L586){{target="_blank" style="float:right; font-size:smaller"}}\n\n### Engine.search\n'
    assert '[source](imgsearch/search.py.md#L586){.source-link}' in fix_source_links(md, blob)
    out = fix_source_links(md, blob, 'https://git.example.org/me/imgsearch/blob/v1')
    assert '[source](https://git.example.org/me/imgsearch/blob/v1/imgsearch/search.py#L586){target="_blank" .source-link }' in out
    assert fix_source_links('[source](https://elsewhere.org/a.py#L1)', blob) == '[source](https://elsewhere.org/a.py#L1)'

def _help_options(prog):
    "The arguments `prog --help` lists: option strings and positional names, -h/--help left out."
    r = subprocess.run([str(Path(sys.executable).parent/prog), '--help'], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, (prog, r.stderr)
    opts, pos, section = set(), set(), None
    for line in r.stdout.splitlines():
        if re.match(r'^\S.*:$', line): section = line
        elif section and section.startswith('positional') and (m := re.match(r'^  (\S+)', line)): pos.add(m.group(1))
        elif section and section.startswith('options') and (m := re.match(r'^  (-\S.*?)(?:\s{2,}|$)', line)):
            opts |= {o.split(' ')[0] for o in m.group(1).split(', ')}
    return r.stdout, opts - {'-h', '--help'}, pos

def test_command_reference_matches_help(site):
    """The command reference lists every command the package installs, and for each exactly the arguments its `--help`
    lists, with its description."""
    from importlib.metadata import distribution
    scripts = [e.name for e in distribution('imgsearch').entry_points if e.group == 'console_scripts']  # pyproject's [project.scripts]
    assert len(scripts) >= 10 and 'imgsearch' in scripts, scripts
    scripts.remove('imgsearch')  # the one command over all the others: named in the page's text, its subcommands are the sections
    page = (site/'reference'/'commands.html').read_text(encoding='utf-8')
    assert '<code>imgsearch SUBCOMMAND ...</code>' in page
    heads = re.findall(r'<h2 id="([\w-]+)">', page)
    assert sorted(heads) == sorted(scripts), heads
    for i, prog in enumerate(heads):
        start = page.index(f'<h2 id="{prog}">')
        section = page[start:page.index('<h2', start + 1) if i + 1 < len(heads) else len(page)]
        listed = {c for row in re.findall(r'<tr>\s*<td>(.*?)</td>', section, re.S) for c in re.findall(r'<code>(.*?)</code>', row)}
        help_text, opts, pos = _help_options(prog)
        assert listed == opts | pos, (prog, listed ^ (opts | pos))
        desc = _text(re.search(r'</h2>\s*<p>(.*?)</p>', section, re.S).group(1))
        assert re.sub(r'\s+', ' ', help_text).find(desc) > 0, (prog, desc)

def test_http_reference_lists_every_route(site):
    """The HTTP API page has a section for every route of the app's OpenAPI description (`openapi_spec`) with each of
    its parameters and responses, a section per schema with its properties, and ships that description as JSON."""
    from imgsearch.api import openapi_spec
    spec = openapi_spec()
    page = (site/'reference'/'http.html').read_text(encoding='utf-8')
    assert json.loads((site/'reference'/'openapi.json').read_text(encoding='utf-8')) == spec
    n = 0
    for path, ops in spec['paths'].items():
        for method, op in ops.items():
            slug = re.sub(r'[^a-z0-9]+', '-', f'{method} {path}'.lower()).strip('-')
            m = re.search(rf'<h2 id="{slug}">(.*?)<a class="headerlink".*?(?=<h2)', page, re.S)
            assert m and _text(m.group(1)) == f'{method.upper()} {path}', (method, path)
            cells = [_text(c) for c in re.findall(r'<td>(.*?)</td>', m.group(0), re.S)]
            for p in op.get('parameters', []): assert p['name'] in cells, (path, p['name'])
            for code in op['responses']: assert code in cells, (path, code)
            n += 1
    assert n == sum(len(ops) for ops in spec['paths'].values()) > 0
    for name, schema in spec['components']['schemas'].items():
        m = re.search(rf'<h3 id="{name.lower()}">{name}<a.*?(?=<h3|<footer|</article)', page, re.S)
        assert m, name
        for prop in schema.get('properties', {}): assert f'<code>{prop}</code>' in m.group(0), (name, prop)

@no_chromium
def test_search_ranks_exact_name_first(server, browser, tmp_path):
    """Typing an API entry's exact name in the search box lists that entry first, above longer names that begin with
    it (`Engine.search` above `Engine.search_image`), and a longer name still ranks its own entry first."""
    page = browser.new_page(viewport={'width': 1280, 'height': 900})
    page.goto(server + 'index.html')
    page.locator('label.md-search__icon, .md-search__input').first.click()
    box = page.locator('input.md-search__input')
    for query, want in [('Engine.search', '08b_search.html#enginesearch'), ('Engine.search_image', '08b_search.html#enginesearch_image'),
                        ('Engine.similar', '08b_search.html#enginesimilar'), ('fit', '06_train.html#fit'), ('fit_confidence', '05b_evidence.html#fit_confidence')]:
        box.fill('')
        box.press_sequentially(query, delay=20)
        words = '+'.join(w.lower() for w in query.split('.'))
        page.wait_for_function('h => Array.from(document.querySelectorAll(".md-search-result__list a[href*=\'#\']")).some(a => a.href.includes("h=" + h))',
                               arg=words, timeout=15000)
        hits = page.evaluate('Array.from(document.querySelectorAll(".md-search-result__list a")).map(a => a.getAttribute("href"))')
        first = next(h for h in hits if '#' in h)
        assert re.sub(r'\?[^#]*', '', first).removeprefix(server) == want, (query, hits[:6])
        if query == 'Engine.search': _shot(page, tmp_path, 'search_exact_name', full_page=False)
    page.close()

@no_chromium
def test_api_reference_shows_signature_and_parameter_table(server, browser, tmp_path):
    """An API entry as nbdev renders it: the signature (no comments; it fits the page without scrolling sideways),
    the one-line docstring, then a table with Type, Default and Details and a row per parameter with its docment."""
    from fastcore.docments import docments
    from imgsearch.build import build_collection
    page = browser.new_page(viewport={'width': 1280, 'height': 900})
    page.goto(server + 'index.html')
    _shot(page, tmp_path, 'home')
    page.goto(server + '04_build.html#build_collection')
    head = page.locator('h3#build_collection')
    assert head.is_visible()
    block = head.locator('xpath=following-sibling::div[contains(@class, "highlight")][1]')
    sig = block.inner_text()
    assert sig.startswith("build_collection(source, out, backbone='efficientnet_lite0', ") and '#' not in sig, sig
    assert block.locator('code').evaluate('e => e.scrollWidth <= e.clientWidth'), 'the signature scrolls sideways'
    doc = head.locator('xpath=following-sibling::p[1]').inner_text()
    assert doc == build_collection.__doc__.strip().replace('`', ''), doc  # the one-line docstring (its `code` rendered)
    table = head.locator('xpath=following::table[1]')  # mkdocs-material wraps tables in a scrolling div
    assert table.locator('th').all_inner_texts() == ['', 'Type', 'Default', 'Details']
    rows = [r.locator('td').all_inner_texts() for r in table.locator('tbody tr').all()]
    docs = {k: v for k, v in docments(build_collection).items() if k != 'return'}
    assert [r[0] for r in rows] == list(docs), rows
    for (name, typ, default, details), doc in zip(rows, docs.values()): assert details == doc.replace('`', ''), (name, details, doc)
    assert dict((r[0], r[2]) for r in rows)['backbone'] == 'efficientnet_lite0'
    head.scroll_into_view_if_needed()
    _shot(page, tmp_path, 'api_build', full_page=False)
    page.goto(server + 'reference/commands.html')
    _shot(page, tmp_path, 'commands', full_page=False)
    page.goto(server + 'reference/http.html')
    _shot(page, tmp_path, 'http_api', full_page=False)
    page.goto(server + 'photos.html')
    _shot(page, tmp_path, 'tutorial')
    page.close()
