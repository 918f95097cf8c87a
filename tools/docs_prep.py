"""Stage the notebooks as the Markdown pages of the offline docs site (built by mkdocs-material, see mkdocs.yml).

Quarto renders nbdev's site (`nbdev-docs`) and cannot be installed here, so `tools/docs.sh` builds the same pages
with mkdocs, in three steps (the first two with the ecosystem's own tools):

1. nbdev's notebook processing, the one `nbdev-proc-nbs` runs (`nbdev.processors.FilterDefaults` through
   `nbdev.serve_drv`): it drops `#| hide` and exported cells, strips nbdev's directives, runs the imports and
   exported cells and renders every `show_doc`. It writes `_proc/NAME.ipynb`, cached by time stamp like nbdev's.
   We call the pieces ourselves because `nbdev-proc-nbs` also tries to install Quarto (a download), writes
   `nbs/sidebar.yml` and rewrites `imgsearch/_modidx.py`, and stops at the first notebook that fails.
   `show_doc` renders with `ApiRenderer`: nbdev's entry (rule, source link, heading) with the signature on its own
   and the parameters in fastcore's docments table (Type, Default, Details), as nbdev 2 showed them.
2. nbconvert's stock `MarkdownExporter` turns each processed notebook into `_proc/_mkdocs/NAME.md`, with the stored
   outputs (tables, text, plots and thumbnails extracted to image files) and no execution. Before that, the Quarto
   cell options nbdev leaves for Quarto are applied (`echo: false` hides the code, `output: false` the outputs,
   `include: false` the cell) and the remaining `#|` lines are taken out of the code shown; links that nbdev
   points at the Quarto site (`doc_host`/`doc_baseurl`) or at notebooks are pointed at the pages staged here.
3. Pages no notebook holds, generated here so that they cannot drift from the code (`tools/docs_pages.py`): the
   command reference (from the commands' own parsers), the HTTP API reference (from the app's OpenAPI description)
   and a page per module of source with line anchors, where the API entries' "source" links point. With
   `IMGSEARCH_DOCS_SOURCE_URL` set (e.g. `https://github.com/OWNER/imgsearch/blob/main`) they point there instead.

Pages keep the notebook's file name (`01_tagindex.md`); `tools/docs_hooks.py` orders the sidebar: `index.md` (from
`nbs/index.ipynb`), the guides (notebooks whose names start with a letter), the pipeline in file-name order, then the
reference pages (`reference/`). Usage: python tools/docs_prep.py [--keep-going]
"""
import ast, importlib, inspect, json, os, re, shutil, sys, textwrap, time
from pathlib import Path

import yaml
from fastcore.docments import DocmentTbl, empty, get_source
from fastcore.parallel import parallel
from nbdev.doclinks import NbdevLookup, _get_exps
from nbdev.showdoc import BasicMarkdownRenderer

root = Path(__file__).resolve().parent.parent
PROC, STAGE = root/'_proc', root/'_proc'/'_mkdocs'  # `_` folders are left alone by Quarto and nbdev's globbing
ASSETS = [root/'tools'/'docs.css']  # copied next to the pages (mkdocs.yml's extra_css)
TEMPLATE = root/'tools'/'docs_md.j2'  # nbconvert's markdown template, text outputs fenced

def _same_line(obj):
    "The names of `obj`'s parameters that share a line of its source with others, line by line."
    if inspect.isclass(obj) and not hasattr(obj, '__dataclass_fields__'): obj = obj.__init__
    try: fn = ast.parse(textwrap.dedent(get_source(obj) or '')).body[0]
    except (IndexError, OSError, SyntaxError, TypeError): return []
    if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)): return []
    a, lines = fn.args, {}
    for arg in [*a.posonlyargs, *a.args, a.vararg, *a.kwonlyargs, a.kwarg]:
        if arg is not None: lines.setdefault(arg.lineno, []).append(arg.arg)
    return [names for names in lines.values() if len(names) > 1]

class ParamTable(DocmentTbl):
    """fastcore's docments table (Type, Default, Details); parameters written on one line before one comment
    (`k:int=20, offset:int=0, # as in search`) share that comment, as the signature with comments showed them."""
    def __init__(self, obj, **kwargs):
        super().__init__(obj, **kwargs)
        for names in _same_line(obj):
            doc = self.dm[names[-1]].docment if names[-1] in self.dm else empty
            for n in names[:-1]:
                if n in self.dm and self.dm[n].docment is empty: self.dm[n].docment = doc
        for d in self.dm.values():  # `DIR/model/<name>.pt` is text, not an HTML tag (code spans keep theirs)
            if isinstance(d.docment, str): d.docment = re.sub(r'(`[^`]*`)|<', lambda m: m.group(1) or '&lt;', d.docment)

def _short(value, most=40):
    "`repr(value)`, cut to `TrainConfig(...)`, `{...}`, `(...)` where longer than `most` characters."
    r = repr(value).replace('__main__.', '')
    if len(r) <= most: return r
    if r[0] in '([{': return f'{r[0]}...{r[-1]}'
    return re.sub(r'\(.*', '(...)', r, flags=re.S) if '(' in r else r[:most - 3] + '...'

def _anno(a):
    "An annotation as written: a class by its name (`TrainConfig`, not `imgsearch.train.TrainConfig`)."
    return a.__qualname__ if isinstance(a, type) else inspect.formatannotation(a).replace('__main__.', '')

def _params(sig):
    "The parameters of signature `sig` as nbdev writes them (`k:int=20`, `/` and `*` where they go), without `self`."
    P, out, star = inspect.Parameter, [], False
    ps = [p for p in sig.parameters.values() if p.name not in ('self', 'cls')]
    for i, p in enumerate(ps):
        if p.kind == P.KEYWORD_ONLY and not star: out.append('*')
        star = star or p.kind in (P.KEYWORD_ONLY, P.VAR_POSITIONAL)
        s = {P.VAR_POSITIONAL: '*', P.VAR_KEYWORD: '**'}.get(p.kind, '') + p.name
        if p.annotation is not P.empty: s += ':' + _anno(p.annotation)
        if p.default is not P.empty: s += '=' + _short(p.default)
        out.append(s)
        if p.kind == P.POSITIONAL_ONLY and (i == len(ps) - 1 or ps[i + 1].kind != P.POSITIONAL_ONLY): out.append('/')
    return out

def _wrap_sig(name, parts, tail, width=80):
    "`name(parts...)tail` on lines of at most `width` characters where it can, continued under the parenthesis."
    indent = ' ' * (len(name) + 1 if len(name) < 30 else 4)
    if not parts: return name + '(' + tail
    lines, line = [], name + '('
    for i, p in enumerate(parts):
        p += ', ' if i < len(parts) - 1 else tail  # the return annotation stays with the last parameter
        if len(line) + len(p.rstrip()) > width and line.strip() and not line.endswith('('):
            lines.append(line.rstrip())
            line = indent
        line += p
    return '\n'.join(lines + [line])

def _source_link(fn):
    """nbdev's link to the source of `fn` (a full name), at the line that defines it: nbdev's own `NbdevLookup.code`
    finds the line only for a name without its module, i.e. one defined in the notebook, not one imported."""
    if not isinstance(res := NbdevLookup()[fn], tuple): return None
    _, py, gh = res
    lines = _get_exps(py)
    line = next((lines[k] for k in (fn.split('.', n)[-1] for n in range(fn.count('.') + 1)) if k in lines), None)
    return gh + (f'#L{line}' if line else '')

def _exported(fn):
    "The object named `fn` (`Engine.search`, or with its module) as the library exports it, or None."
    if not isinstance(res := NbdevLookup()[fn], tuple): return None
    mod = res[1].removesuffix('.py').replace('/', '.')
    name = fn.removeprefix(mod + '.')
    try:
        obj = importlib.import_module(mod)
        for part in name.split('.'): obj = getattr(obj, part)
    except (ImportError, AttributeError): return None
    return obj if hasattr(obj, '__signature__') else getattr(obj, '__wrapped__', obj)

class ApiRenderer(BasicMarkdownRenderer):
    """`show_doc` for the docs site: nbdev's rule, source link and heading (marked `.api-entry`), then the signature
    without comments (long defaults cut short), the docstring and the table of parameters, as nbdev 2 rendered them:
    the comments of a long signature no longer make its block scroll sideways."""
    def _repr_markdown_(self):
        doc = '---\n\n'
        if src := _source_link(self.fn): doc += f'[source]({src}){{target="_blank" style="float:right; font-size:smaller"}}\n\n'
        doc += f'{"#" * self.title_level} {self.nm} {{: .api-entry }}\n\n'
        if self.sig is not None and callable(self.sym):
            ret = self.sig.return_annotation
            tail = ')' + (f' -> {_anno(ret)}' if ret not in (empty, None) else '')
            sig = _wrap_sig(self.nm, _params(self.sig), tail)
        elif callable(self.sym) and hasattr(self.dm, 'params'): sig = _wrap_sig(self.nm, [p for p, _ in self.dm.params], ')')
        else: sig = str(self.dm)  # not callable: its type and value
        doc += f'```python\n{sig}\n```'
        if self.docs: doc += '\n\n' + re.sub(r'^(\s*)(.+)', r'\1*\2*', self.docs, count=1)
        tbl = ''
        for obj in (self.sym, _exported(self.fn)):  # a class the notebook defined has no source to read: the library's has
            try: tbl = str(ParamTable(obj)) if obj is not None else ''
            except Exception: continue  # no signature or source to read docments from
            if tbl: break
        return doc + (f'\n\n{tbl}' if tbl else '')

# the rendering code: a change to any of it processes every notebook again (the stamp in `process_notebooks`)
_RENDERING = (_same_line, ParamTable, _short, _anno, _params, _wrap_sig, _source_link, _exported, ApiRenderer)

def _proc_one(pair):
    "Process one notebook with nbdev's docs processors; '' or the error (run in a worker process)."
    import nbdev.serve_drv, nbdev.showdoc
    from nbdev.processors import FilterDefaults
    nbdev.showdoc.BasicMarkdownRenderer = ApiRenderer  # what `show_doc` renders with when no `renderer` is configured
    src, dst = pair
    if str(root) not in sys.path: sys.path.insert(0, str(root))  # the notebooks' tests import `bench.fixtures`, as under pytest
    try: nbdev.serve_drv.main((Path(src), Path(dst), FilterDefaults))
    except Exception as e:
        Path(dst).unlink(missing_ok=True)
        return f'{Path(src).name}: {type(e).__name__}: {e}'
    return ''

def process_notebooks(nbs, n_workers=2):
    "Write nbdev's processed copy of each notebook in `nbs` to `_proc/` unless it is newer than the notebook."
    import hashlib, nbdev
    from nbdev.config import get_config
    PROC.mkdir(exist_ok=True)
    # like nbdev, a changed pyproject.toml (or nbdev, or our renderer) invalidates every processed notebook; by content
    code = ''.join(inspect.getsource(o) for o in _RENDERING)
    stamp = PROC/'_docs_stamp'
    want = hashlib.sha256(get_config().config_file.read_bytes() + nbdev.__version__.encode() + code.encode()).hexdigest()
    fresh = stamp.exists() and stamp.read_text() == want
    todo = [(str(s), str(PROC/s.name)) for s in nbs
            if not fresh or not (PROC/s.name).exists() or (PROC/s.name).stat().st_mtime < s.stat().st_mtime]
    if not todo: return []
    print(f'docs: processing {len(todo)} notebook(s) with nbdev (imports, exported cells and show_doc run)', flush=True)
    stamp.unlink(missing_ok=True)
    errs = parallel(_proc_one, todo, n_workers=min(n_workers, len(todo)), method='spawn', progress=False, pause=0.01)
    stamp.write_text(want)
    return [e for e in errs if e]

_DIRECTIVE = re.compile(r'^\s*#\|\s*([\w-]+)\s*:?\s*(.*?)\s*$')

def _directives(src):
    "The `#|` options at the top of a code cell, and the code without them."
    lines, opts = src.splitlines(), {}
    while lines and (m := _DIRECTIVE.match(lines[0])):
        opts[m.group(1)] = m.group(2).lower()
        lines.pop(0)
    return opts, '\n'.join(lines).strip('\n')

_CELL_KEYS = {'cell_type', 'execution_count', 'id', 'metadata', 'outputs', 'source', 'attachments'}

def prepare_nb(nb):
    "Apply the Quarto cell options of processed notebook `nb` in place; returns its front matter."
    fm, cells = {}, []
    for cell in nb.cells:
        for k in set(cell) - _CELL_KEYS: del cell[k]  # nbdev's working attributes (`has_sd`)
        cell.metadata.pop('execution', None)  # execnb's timings, not valid nbformat
        if cell.cell_type == 'raw' and cell.source.startswith('---') and not fm:
            fm = yaml.safe_load(cell.source.strip().strip('-')) or {}
            continue
        if cell.cell_type == 'code':
            opts, cell.source = _directives(cell.source)
            if opts.get('include') == 'false': continue
            tags = cell.metadata.setdefault('tags', [])
            if opts.get('echo') == 'false' or not cell.source.strip(): tags.append('remove_input')
            if opts.get('output') == 'false': tags.append('remove_output')
            if not cell.source.strip() and not cell.outputs: continue
            # a live widget needs a kernel: its view and text fallback (`VBox(children=...)`) say nothing on a static page
            for o in cell.get('outputs', []):
                if 'application/vnd.jupyter.widget-view+json' in o.get('data', {}): o.data = {}
            if 'outputs' in cell: cell.outputs = [o for o in cell.outputs if o.get('data', True)]
        cells.append(cell)
    nb.cells = cells
    nb.metadata.setdefault('language_info', {'name': 'python'})  # fences the code as python (notebooks keep no kernel info)
    return fm

def _slug(text):
    "The id mkdocs' `toc` extension gives a heading whose text is `text` (nbdev's anchors are lower-cased names)."
    from markdown.extensions.toc import slugify
    return slugify(re.sub(r'[`*]', '', text), '-')

def heading_ids(md):
    "The ids of the headings of Markdown page `md` (outside code fences)."
    ids, fence = set(), None
    for line in md.splitlines():
        if m := re.match(r'^\s*(`{3,}|~{3,})', line):
            if fence is None: fence = m.group(1)
            elif m.group(1).startswith(fence): fence = None
        elif fence is None and (m := re.match(r'^#{1,6}\s+(.*?)\s*(\{:?[^}]*\})?\s*#*\s*$', line)): ids.add(_slug(m.group(1)))
    return ids

def fix_links(md, pages, site, ids):
    """Point links at Quarto pages (`site/data.html#item`, `data.html`, `00_data.ipynb`) at the staged pages.
    nbdev's automatic links (at `site`) to a symbol with no API entry (a private helper) become plain code."""
    def sub(m):
        text, url = m.group(1), m.group(2)
        target, _, anchor = url.partition('#')
        auto = bool(site) and target.startswith(site)
        if auto: target = target[len(site):].lstrip('/') or 'index.html'
        elif re.match(r'^[a-z]+:|^/', target) or not target.endswith(('.html', '.ipynb')): return m.group(0)
        if (p := pages.get(target.rsplit('.', 1)[0])) is None: return m.group(0)
        if anchor and _slug(anchor) not in ids.get(p, ()) and auto: return text
        return f'[{text}]({p}' + (f'#{_slug(anchor)}' if anchor else '') + ')'
    return re.sub(r'\[([^\]\n]*)\]\(([^)\s]+)\)', sub, md)

_SOURCE_LINK = re.compile(r'\[source\]\((?P<url>[^)\s]+?)(?:#L(?P<line>\d+))?\)(?:\{[^}\n]*\})?')

def fix_source_links(md, blob, source_url='', prefix=''):
    """Point nbdev's "source" links (at `blob`, the placeholder or real GitHub address nbdev builds from `[tool.nbdev]`)
    at the source pages of this site (`imgsearch/NAME.py.md#L12`, relative to the page through `prefix`), or at
    `source_url` (a published repository's files, e.g. `https://github.com/OWNER/imgsearch/blob/main`) when given."""
    def sub(m):
        url, line = m.group('url'), m.group('line')
        if not url.startswith(blob): return m.group(0)
        path, anchor = url[len(blob):], f'#L{line}' if line else ''
        if source_url: return f'[source]({source_url}/{path}{anchor}){{target="_blank" .source-link }}'
        return f'[source]({prefix}{path}.md{anchor}){{.source-link}}'
    return _SOURCE_LINK.sub(sub, md)

def _doc_link(pages, site):
    "A function: the staged page and anchor (`04_build.md#imgsearch_build`) of the API entry of a qualified name, or None."
    lookup = NbdevLookup()
    def link(qual):
        res = lookup[qual]
        url = res[0] if isinstance(res, tuple) else res
        if not url or not site or not url.startswith(site): return None
        target, _, anchor = url[len(site):].lstrip('/').partition('#')
        page = pages.get(target.rsplit('.', 1)[0])
        return page and page + (f'#{_slug(anchor)}' if anchor else '')
    return link

def stage(names, site='', source_url=''):
    """Write `_proc/_mkdocs/`: one Markdown page per processed notebook in `names`, the generated reference pages
    (`tools/docs_pages.py`), a source page per module unless `source_url` is given, images and assets."""
    import docs_pages
    from nbconvert import MarkdownExporter
    from nbformat import read, NO_CONVERT
    from nbdev.config import get_config
    from traitlets.config import Config
    if STAGE.exists(): shutil.rmtree(STAGE)
    STAGE.mkdir(parents=True)
    c = Config()
    c.TagRemovePreprocessor.remove_input_tags = {'remove_input'}
    c.TagRemovePreprocessor.remove_all_outputs_tags = {'remove_output'}
    exporter = MarkdownExporter(config=c, template_file=str(TEMPLATE))
    stems = [Path(n).stem for n in names]
    pages = {s: f'{s}.md' for s in stems}
    for s in stems:  # nbdev's Quarto page name: the number prefix dropped (`00_data` -> `data.html`)
        pages.setdefault(re.sub(r'^\d+[a-z]?_', '', s), f'{s}.md')
    bodies = {}
    for name in names:
        nb = read(PROC/name, as_version=NO_CONVERT)
        fm = prepare_nb(nb)
        stem = Path(name).stem
        body, res = exporter.from_notebook_node(nb, resources={'output_files_dir': f'{stem}_files', 'unique_key': stem})
        for fn, data in res.get('outputs', {}).items():
            (STAGE/fn).parent.mkdir(parents=True, exist_ok=True)
            (STAGE/fn).write_bytes(data)
        title, desc = fm.get('title', stem), fm.get('description', '')
        meta = {'title': title, **({'description': desc} if desc else {})}
        head = f'# {title}\n\n' + (f'{desc}\n{{: .description }}\n\n' if desc else '')
        bodies[f'{stem}.md'] = (meta, head + body.strip())
    ids = {p: heading_ids(body) for p, (_, body) in bodies.items()}
    cfg = get_config()
    blob = f"{cfg.git_url}/blob/{cfg.branch}/"
    for p, (meta, body) in bodies.items():
        front = yaml.safe_dump(meta, allow_unicode=True, width=1000)
        body = fix_source_links(fix_links(body, pages, site, ids), blob, source_url)
        (STAGE/p).write_text(f'---\n{front}---\n\n{body}\n', encoding='utf-8')
    written = [STAGE/p for p in bodies]
    link = _doc_link(pages, site)
    ref = STAGE/'reference'
    ref.mkdir()
    from imgsearch.api import openapi_spec
    spec = openapi_spec()
    (ref/'openapi.json').write_text(json.dumps(spec, indent=1, ensure_ascii=False) + '\n', encoding='utf-8')
    for fn, text in (('commands.md', docs_pages.command_reference(lambda q: (l := link(q)) and f'../{l}')),
                     ('http.md', docs_pages.http_reference(spec))):
        (ref/fn).write_text(text, encoding='utf-8')
        written.append(ref/fn)
    if not source_url:  # the modules the source links point at, as pages of the site
        lib = cfg.lib_path
        (STAGE/lib.name).mkdir()
        for py in sorted(lib.glob('*.py')):
            if py.name.startswith('_'): continue
            nb = re.search(r'File to edit: \.\./\S*?/?([^/\s]+)\.ipynb', py.read_text(encoding='utf-8')[:2000])
            nb_page = f'../{pages[nb.group(1)]}' if nb and nb.group(1) in pages else None
            (STAGE/lib.name/f'{py.name}.md').write_text(docs_pages.source_page(py, nb_page), encoding='utf-8')
            written.append(STAGE/lib.name/f'{py.name}.md')
    for d in PROC.iterdir():  # images and other files the notebooks reference (nbdev copies them to _proc/)
        if d.is_dir() and not d.name.startswith(('_', '.')): shutil.copytree(d, STAGE/d.name)
    for a in ASSETS: shutil.copy(a, STAGE/a.name)
    return written

def copy_files(nbs_path):
    "Copy the non-notebook files under `nbs_path` (images, ...) to `_proc/`, as nbdev's processing does."
    for s in nbs_path.rglob('*'):
        rel = s.relative_to(nbs_path)
        if not s.is_file() or s.suffix == '.ipynb' or any(p.startswith(('.', '_')) for p in rel.parts): continue
        d = PROC/rel
        if d.exists() and d.stat().st_mtime >= s.stat().st_mtime: continue
        d.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(s, d)

def main(keep_going=False):
    from nbdev.config import get_config
    from nbdev.doclinks import nbglob
    t0, cfg = time.time(), get_config()
    nbs = sorted(nbglob(cfg.nbs_path, func=Path))
    nbs = [p for p in nbs if p.parent == cfg.nbs_path]  # one folder of notebooks: the pipeline
    errs = process_notebooks(nbs)
    for p in PROC.glob('*.ipynb'):  # a notebook that was removed or renamed leaves no page behind
        if not (cfg.nbs_path/p.name).exists(): p.unlink()
    copy_files(cfg.nbs_path)
    if errs:
        msg = '\n'.join(f'  {e}' for e in errs)
        print(f'docs: nbdev could not process {len(errs)} notebook(s) (the same error stops `nbdev-docs`):\n{msg}', file=sys.stderr)
        if not keep_going: sys.exit(1)
        print('docs: --keep-going: building the site without them', file=sys.stderr)
    names = [p.name for p in nbs if (PROC/p.name).exists()]
    site = f"{cfg.get('doc_host', '')}{cfg.get('doc_baseurl', '')}".rstrip('/')
    source_url = os.environ.get('IMGSEARCH_DOCS_SOURCE_URL', '').rstrip('/')
    pages = stage(names, site, source_url)
    print(f'docs: staged {len(pages)} pages in {STAGE.relative_to(root)} ({time.time() - t0:.1f} s)', flush=True)

if __name__ == '__main__':
    sys.path.insert(0, str(Path(__file__).parent))
    import docs_prep  # the worker processes find `_proc_one` in an importable module, not in `__main__`
    docs_prep.main(keep_going='--keep-going' in sys.argv[1:])
