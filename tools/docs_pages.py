"""The pages of the docs site that no notebook holds, generated from the code at every build so that they cannot drift
from it (`tools/docs_prep.py` writes them into the staged site, `tests/test_docs.py` compares them with the code):

- `reference/commands.md`: every command the package installs (pyproject's `[project.scripts]`) with every option,
  read from the parser that answers the command's `--help` (`imgsearch.cli`);
- `reference/http.md`: every route of the JSON API with its parameters and responses, and the schemas they use, read
  from `imgsearch.api.openapi_spec` (what `GET /api/openapi.json` serves), shipped beside it as `openapi.json`;
- `imgsearch/NAME.py.md`: each module's source, highlighted, with an anchor per line (`#L12`, as on GitHub), where
  the API entries' "source" links point unless the site is built for a published repository.

Each function returns Markdown; links to API entries go through `doc_link(qualified name)`, which gives the page and
anchor of that entry relative to the site's root (or None)."""
import argparse, json, os, re
from importlib.metadata import distribution
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

def _cell(s):
    "Text for a Markdown table cell."
    return str(s).replace('|', '\\|').replace('<', '&lt;').replace('\n', ' ')

def _table(head, rows):
    return '\n'.join(['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)] + ['| ' + ' | '.join(r) + ' |' for r in rows])

# ---------------------------------------------------------------- commands
def installed_commands():
    "The commands the installed package provides (pyproject's `[project.scripts]`): name -> `module:function`."
    return {e.name: e.value for e in distribution('imgsearch').entry_points if e.group == 'console_scripts'}

def _subcommands():
    "Each stage command's installed name and its key in `imgsearch.cli.COMMANDS`, in pipeline order."
    from imgsearch import cli
    return {f'imgsearch-{s}': s for s in cli.COMMANDS}

def command_parsers():
    "Each command the package installs and the `argparse` parser its `--help` prints, in the pipeline's order."
    from fastcore.script import anno_parser
    from imgsearch import cli
    subs, cmds = _subcommands(), installed_commands()
    order, out = list(subs) + ['imgsearch-search'], {}
    for prog in sorted((p for p in cmds if p != 'imgsearch'), key=lambda p: order.index(p) if p in order else len(order)):
        entry = cmds[prog]
        if prog in subs: out[prog] = anno_parser(cli.signature_only(*cli.COMMANDS[subs[prog]]), prog)  # as `cli.run_command`
        elif entry == 'imgsearch.cli:imgsearch_search': out[prog] = cli._parser()
        else: raise SystemExit(f'docs: no parser known for the command {prog} ({entry}): tell tools/docs_pages.py where it is')
    return out

def command_function(prog):
    "The qualified name of the function that command `prog` runs."
    from imgsearch import cli
    subs = _subcommands()
    return '.'.join(cli.COMMANDS[subs[prog]]) if prog in subs else 'imgsearch.cli.imgsearch_search'

def _option(a):
    "One row of a command's table: argument, type, default, details."
    name = ', '.join(f'`{o}`' for o in a.option_strings) or f'`{a.metavar or a.dest}`'
    flag = isinstance(a, (argparse._StoreTrueAction, argparse._StoreFalseAction))
    if flag: kind = 'flag'
    elif a.choices: kind = ' \\| '.join(f'`{c}`' for c in a.choices)
    else: kind = getattr(a.type, '__name__', None) or 'str'
    default = '' if flag or a.default in (None, argparse.SUPPRESS) or not a.option_strings else f'`{a.default}`'
    text = (a.help or '') % {**vars(a), 'prog': ''} if '%(' in (a.help or '') else (a.help or '')
    text = text.removesuffix(f' (default: {a.default})')  # fastcore's help ends with the default, which has its column
    if not a.option_strings: text += ' (optional)' if a.nargs == '?' else ' (required)'
    return [name, kind, default, _cell(text)]

def _usage(p, width=100):
    "The usage lines of parser `p`, wrapped at `width` columns whatever the terminal (argparse reads $COLUMNS)."
    old = os.environ.get('COLUMNS')
    os.environ['COLUMNS'] = str(width)
    try: return p.format_usage().strip()
    finally:
        if old is None: del os.environ['COLUMNS']
        else: os.environ['COLUMNS'] = old

def command_reference(doc_link):
    "The command reference page: a table of the commands, then each with its usage and a table of its options."
    parsers = command_parsers()
    md = ['---', 'title: Commands', 'description: Every command and every option, as their --help prints them', '---', '',
          '# Commands', '', 'Every command and every option, as their `--help` prints them', '{: .description }', '',
          'The commands are installed with the package (`pip install -e .`, or `bash tools/setup.sh` into `.venv/bin/`). '
          'Each is a thin wrapper over a function of the library, linked below; `--help` answers at once, without '
          'loading PyTorch. This page is generated from the same parsers at every build of the site. '
          '`imgsearch SUBCOMMAND ...` runs each of them under one name (`imgsearch build` is `imgsearch-build`, '
          '`imgsearch search` is `imgsearch-search`); `imgsearch --help` lists them.', '',
          _table(['command', 'what it does'], [[f'[`{p}`](#{p})', _cell(parsers[p].description or '')] for p in parsers]), '']
    for prog, p in parsers.items():
        fn = command_function(prog)
        link = doc_link(fn)
        md += [f'## {prog} {{: #{prog} }}', '', _cell(p.description or ''), '', '```text', _usage(p), '```', '',
               _table(['argument', 'type', 'default', 'details'],
                      [_option(a) for a in p._actions if a.help != argparse.SUPPRESS and not isinstance(a, argparse._HelpAction)]), '']
        if p.epilog and not re.fullmatch(r'imgsearch [\w.+-]+', p.epilog): md += [_cell(p.epilog), '']
        md += [f'`-h`, `--help` prints this. The function it runs: ' + (f'[`{fn}`]({link})' if link else f'`{fn}`') + '.', '']
    return '\n'.join(md)

# ---------------------------------------------------------------- HTTP API
def _slug(s): return re.sub(r'[^a-z0-9]+', '-', s.lower()).strip('-')

def _schema(s):
    "A JSON schema in a few words: `integer, 1 to 100`, `array of Hit`, `number or null`."
    if '$ref' in s:
        name = s['$ref'].rsplit('/', 1)[-1]
        return f'[{name}](#{_slug(name)})'
    if 'const' in s: return f'`{json.dumps(s["const"])}`'
    t = s.get('type', 'any')
    t = ' or '.join(t) if isinstance(t, list) else t
    if t == 'array': t = 'array of ' + _schema(s.get('items', {}))
    if t == 'object' and (props := s.get('properties')):  # an inline object: its fields
        req = set(s.get('required', []))
        t += ' with ' + ', '.join(f'`{k}` ({_schema(v)}{", required" if k in req else ""})' for k, v in props.items())
    if 'format' in s: t += f' ({s["format"]})'
    more = []
    if 'enum' in s: more.append('one of ' + ', '.join(f'`{v}`' for v in s['enum']))
    lo, hi = s.get('minimum', s.get('minLength')), s.get('maximum', s.get('maxLength'))
    unit = ' characters' if 'minLength' in s or 'maxLength' in s else ''
    if lo is not None and hi is not None: more.append(f'{lo} to {hi}{unit}')
    elif lo is not None: more.append(f'at least {lo}{unit}')
    elif hi is not None: more.append(f'at most {hi}{unit}')
    return ', '.join([t] + more)

def _content(c):
    "The schemas of a request or response body, by media type."
    return '; '.join(f'{_schema(v.get("schema", {}))} (`{k}`)' for k, v in c.items()) if c else ''

def operations(spec):
    "(method, path, operation) of every operation in OpenAPI description `spec`, in its order."
    return [(m, path, op) for path, ops in spec['paths'].items() for m, op in ops.items() if m in ('get', 'post', 'put', 'patch', 'delete')]

def http_reference(spec):
    "The HTTP API page for OpenAPI description `spec`: each route with its parameters and responses, then the schemas."
    info = spec.get('info', {})
    md = ['---', 'title: HTTP API', 'description: The JSON API of imgsearch-serve, route by route', '---', '',
          '# HTTP API', '', 'The JSON API of `imgsearch-serve`, route by route', '{: .description }', '',
          f'{info.get("description", "")} A running server describes itself at `GET /api/openapi.json` (OpenAPI '
          f'{spec.get("openapi", "")}); this page is generated from the same description '
          f'([openapi.json](openapi.json), {info.get("title", "")} {info.get("version", "")}), with the server\'s default '
          'limits, at every build of the site. Errors answer JSON too: `{"error": message, "status": code}`.', '',
          _table(['route', 'what it answers'], [[f'[`{m.upper()} {path}`](#{_slug(m + " " + path)})', _cell(op.get('summary', ''))]
                                                for m, path, op in operations(spec)]), '']
    for m, path, op in operations(spec):
        md += [f'## {m.upper()} {path} {{: #{_slug(m + " " + path)} }}', '', _cell(op.get('summary', '')) + '.', '']
        if params := op.get('parameters'):
            md += [_table(['parameter', 'in', 'type', 'required', 'default', 'details'],
                          [[f'`{p["name"]}`', p['in'], _schema(p.get('schema', {})), 'yes' if p.get('required') else 'no',
                            f'`{p["schema"]["default"]}`' if 'default' in p.get('schema', {}) else '', _cell(p.get('description', ''))]
                           for p in params]), '']
        if body := op.get('requestBody'):
            md += [f'Request body{" (required)" if body.get("required") else ""}: {_content(body.get("content", {}))}.', '']
        md += [_table(['status', 'body', 'details'], [[f'`{code}`', _content(r.get('content', {})), _cell(r.get('description', ''))]
                                                     for code, r in op.get('responses', {}).items()]), '']
    md += ['## Schemas', '', 'The JSON objects the routes answer.', '']
    for name, s in spec.get('components', {}).get('schemas', {}).items():
        req = set(s.get('required', []))
        md += [f'### {name} {{: #{_slug(name)} }}', '']
        if props := s.get('properties'):
            md += [_table(['property', 'type', 'always there', 'details'],
                          [[f'`{k}`', _schema(v), 'yes' if k in req else 'no', _cell(v.get('description', ''))] for k, v in props.items()]), '']
        else: md += [_schema(s), '']
    return '\n'.join(md)

# ---------------------------------------------------------------- source
def source_page(py, notebook_page=None):
    """A page showing module `py` highlighted, each line with its anchor (`#L12`) and its number a link to it;
    `notebook_page` is the page (relative to this one) of the notebook it is exported from."""
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer
    html = highlight(py.read_text(encoding='utf-8'), PythonLexer(),
                     HtmlFormatter(linenos='table', linespans='L', lineanchors='L', anchorlinenos=True, wrapcode=True))
    html = re.sub(r'<a id="L-\d+" name="L-\d+"></a>', '', html)  # one anchor per line: its span, named like GitHub's
    html = html.replace('id="L-', 'id="L').replace('href="#L-', 'href="#L')
    rel = f'{py.parent.name}/{py.name}'
    made = (f'Written by `nbdev-export` from [its notebook]({notebook_page}): edit the notebook, not this file.\n'
            '{: .source-note }\n\n') if notebook_page else ''
    front = f'---\ntitle: {rel}\nsearch:\n  exclude: true\nhide: [toc]\n---\n\n'
    return f'{front}# {rel}\n\n{made}<div class="source-listing" markdown="0">\n{html}\n</div>\n'
