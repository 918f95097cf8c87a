"""mkdocs hooks of the offline docs site (mkdocs.yml `hooks:`): the order of the sidebar, and a word in the search
index that ranks an API entry first when its exact name is typed.

Sidebar: the home page, the guides (pages of notebooks whose names start with a letter, e.g. `nbs/photos.ipynb`), the
pipeline (notebooks numbered `00_` to `99_`, in file-name order), the generated reference pages (`reference/`), then the
test notebooks (`nbs/test_*.ipynb`: the exhaustive checks beside each lesson).
The source pages (`imgsearch/NAME.py.md`) are in no menu: the API entries' "source" links lead there.

Search: mkdocs-material appends `*` to every word typed and lunr scores a rare word above a common one, so typing
`Engine.search` (the words `engine*` and `search*`) ranked `Engine.search_image` first: `search_image` is rarer than
`search`, and nothing rewards the exact word. So an API entry whose name ends in a word that begins a longer word of
another title (`search`: `Engine.search_image`, the page "Searching by words") is indexed with one word more, in a field of its own
weighted like titles: its last word with a mark (`search§`), which no page has. A query word that begins it
(`search*`) matches it, a longer or other one (`search_image*`, `similar*`) does not: the exact name comes first, and
other queries rank as before. A name that only equals a word of another title (`Engine.search_image`,
`SearchBox.search_image`) gets no mark: marked, it would match `search*` too and rise above `Engine.search`. Nor does a
name whose first word begins with its last (`SearchBox.search`): `search*` matches it twice already, and with the mark
it too would rise above `Engine.search`.
"""
import json, re
from pathlib import Path
from mkdocs.plugins import event_priority

MARK = '§'  # not a separator and never typed: `search§` is a word only the entry named `....search` has
_api = set()  # locations (`08b_search.html#enginesearch`) of the API entries: headings of class `api-entry` (tools/docs_prep.py)

def on_config(config):
    "Set the sidebar from the staged pages (tools/docs_prep.py writes them before mkdocs runs)."
    docs = Path(config.docs_dir)
    top = sorted(p.name for p in docs.glob('*.md'))
    ref = [f'reference/{p.name}' for p in sorted((docs/'reference').glob('*.md'))]
    tests = [p for p in top if p.startswith('test_')]
    config.nav = ([p for p in top if p == 'index.md'] + [p for p in top if p != 'index.md' and not p[0].isdigit() and p not in tests]
                  + [p for p in top if p[0].isdigit()] + ([{'Reference': ref}] if ref else []) + ([{'Tests': tests}] if tests else []))
    _api.clear()
    return config

def on_page_content(html, page, config, files):
    "Note where the page's API entries are."
    for tag in re.findall(r'<h[1-6]\b[^>]*>', html):
        if re.search(r'class="[^"]*\bapi-entry\b', tag) and (m := re.search(r'\bid="([^"]+)"', tag)): _api.add(f'{page.url}#{m.group(1)}')
    return html

@event_priority(-100)  # after the search plugin has written the index
def on_post_build(config):
    "Add the `name` field to the search index, and the marked last word to the API entries that need it."
    f = Path(config.site_dir)/'search'/'search_index.json'
    if not f.is_file(): return
    idx = json.loads(f.read_text(encoding='utf-8'))
    sep, fields = re.compile(idx['config']['separator']), idx['config']['fields']
    fields['name'] = {'boost': fields.get('title', {}).get('boost', 1)}
    titles = [(d['location'], [w for w in sep.split(d['title'].lower()) if w]) for d in idx['docs']]
    for d in idx['docs']:
        if d['location'] not in _api or not (last := sep.split(d['title'].lower())[-1]): continue
        if any(w.startswith(last) and w != last for w in sep.split(d['title'].lower())[:-1]): continue  # `SearchBox.search`: see above
        if any(loc != d['location'] and any(w.startswith(last) and w != last for w in ws) for loc, ws in titles): d['name'] = last + MARK
    f.write_text(json.dumps(idx, ensure_ascii=False, separators=(',', ':')), encoding='utf-8')
