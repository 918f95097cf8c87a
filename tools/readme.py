"""Write README.md from nbs/index.ipynb, the home page of the docs site.

`nbdev-readme` does this through Quarto; this script needs only the standard library, so the README
can be regenerated (and checked for staleness by `tools/test.sh`) where Quarto is not installed.
Markdown cells are copied, code cells become fenced Python blocks followed by their stored text and Markdown
outputs, and cells marked `#| hide` are left out.
Usage: python tools/readme.py [--check]
"""
import json, re, sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent

def render(nb_path=root/'nbs'/'index.ipynb'):
    "The README text for the notebook at `nb_path`."
    parts = ['<!-- generated from nbs/index.ipynb by tools/readme.py: edit the notebook, not this file -->']
    for cell in json.loads(Path(nb_path).read_text(encoding='utf-8'))['cells']:
        src = ''.join(cell['source']).strip()
        lines = src.splitlines()
        if not src or any(l.strip() in ('#| hide', '#|hide') for l in lines): continue
        if cell['cell_type'] == 'markdown': parts.append(re.sub(r'\]\((?!https?:|/|#)', '](nbs/', src))  # links relative to nbs/
        elif cell['cell_type'] == 'code':
            code = '\n'.join(l for l in lines if not l.startswith('#|')).strip()
            if code: parts.append(f'```python\n{code}\n```')
            for o in cell.get('outputs', []):  # stored outputs: Markdown as it is, plain text fenced, pictures left out
                data = o.get('data', {})
                if 'text/markdown' in data: parts.append(''.join(data['text/markdown']).strip())
                elif 'text/plain' in data: parts.append('```\n' + ''.join(data['text/plain']).strip() + '\n```')
                elif o.get('output_type') == 'stream': parts.append('```\n' + ''.join(o.get('text', '')).strip() + '\n```')
    return '\n\n'.join(parts) + '\n'

if __name__ == '__main__':
    text, dest = render(), root/'README.md'
    if '--check' in sys.argv[1:]:
        if not dest.exists() or dest.read_text(encoding='utf-8') != text:
            sys.exit('README.md is not what nbs/index.ipynb renders to: run python tools/readme.py and commit')
    else: dest.write_text(text, encoding='utf-8')
