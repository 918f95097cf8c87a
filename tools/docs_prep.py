"""Stage the notebooks as the Markdown pages of the offline docs site (built by mkdocs-material, see mkdocs.yml).

Quarto renders nbdev's site (`nbdev-docs`) and cannot be installed here, so `tools/docs.sh` builds the same pages
with mkdocs. Two steps, both with the ecosystem's own tools:

1. nbdev's notebook processing, the one `nbdev-proc-nbs` runs (`nbdev.processors.FilterDefaults` through
   `nbdev.serve_drv`): it drops `#| hide` and exported cells, strips nbdev's directives, runs the imports and
   exported cells and renders every `show_doc` with nbdev's `BasicMarkdownRenderer` (signature with its docments,
   docstring, link to the source). It writes `_proc/NAME.ipynb`, cached by time stamp like nbdev's. We call the
   pieces ourselves because `nbdev-proc-nbs` also tries to install Quarto (a download), writes `nbs/sidebar.yml`
   and rewrites `imgsearch/_modidx.py`, and stops at the first notebook that fails.
2. nbconvert's stock `MarkdownExporter` turns each processed notebook into `_proc/_mkdocs/NAME.md`, with the stored
   outputs (tables, text, plots and thumbnails extracted to image files) and no execution. Before that, the Quarto
   cell options nbdev leaves for Quarto are applied (`echo: false` hides the code, `output: false` the outputs,
   `include: false` the cell) and the remaining `#|` lines are taken out of the code shown; links that nbdev
   points at the Quarto site (`doc_host`/`doc_baseurl`) or at notebooks are pointed at the pages staged here.

Pages keep the notebook's file name (`01_tag_index.md`), so mkdocs orders the sidebar in pipeline order and puts
`index.md` (from `nbs/index.ipynb`) first. Usage: python tools/docs_prep.py [--keep-going]
"""
import re, shutil, sys, time
from pathlib import Path

import yaml
from fastcore.parallel import parallel

root = Path(__file__).resolve().parent.parent
PROC, STAGE = root/'_proc', root/'_proc'/'_mkdocs'  # `_` folders are left alone by Quarto and nbdev's globbing
ASSETS = [root/'tools'/'docs.css']  # copied next to the pages (mkdocs.yml's extra_css)
TEMPLATE = root/'tools'/'docs_md.j2'  # nbconvert's markdown template, text outputs fenced

def _proc_one(pair):
    "Process one notebook with nbdev's docs processors; '' or the error (run in a worker process)."
    import nbdev.serve_drv
    from nbdev.processors import FilterDefaults
    src, dst = pair
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
    # like nbdev, a changed pyproject.toml (or nbdev) invalidates every processed notebook; by content, not time stamp
    stamp, want = PROC/'_docs_stamp', hashlib.sha256(get_config().config_file.read_bytes() + nbdev.__version__.encode()).hexdigest()
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
        elif fence is None and (m := re.match(r'^#{1,6}\s+(.*?)\s*#*\s*$', line)): ids.add(_slug(m.group(1)))
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

def stage(names, site=''):
    "Write `_proc/_mkdocs/`: one Markdown page per processed notebook in `names`, plus images and assets."
    from nbconvert import MarkdownExporter
    from nbformat import read, NO_CONVERT
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
    for p, (meta, body) in bodies.items():
        front = yaml.safe_dump(meta, allow_unicode=True, width=1000)
        (STAGE/p).write_text(f'---\n{front}---\n\n{fix_links(body, pages, site, ids)}\n', encoding='utf-8')
    for d in PROC.iterdir():  # images and other files the notebooks reference (nbdev copies them to _proc/)
        if d.is_dir() and not d.name.startswith(('_', '.')): shutil.copytree(d, STAGE/d.name)
    for a in ASSETS: shutil.copy(a, STAGE/a.name)
    return [STAGE/p for p in bodies]

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
    pages = stage(names, site)
    print(f'docs: staged {len(pages)} pages in {STAGE.relative_to(root)} ({time.time() - t0:.1f} s)', flush=True)

if __name__ == '__main__':
    sys.path.insert(0, str(Path(__file__).parent))
    import docs_prep  # the worker processes find `_proc_one` in an importable module, not in `__main__`
    docs_prep.main(keep_going='--keep-going' in sys.argv[1:])
