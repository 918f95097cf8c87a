"""Run notebooks and store their outputs in place, so the docs site and GitHub show tables and figures.

Usage: .venv/bin/python tools/execute.py nbs/06_train.ipynb nbs/07_evaluate.ipynb
Outputs larger than --max-kb (default 120 KB per cell) are dropped, to keep the notebooks light.
"""
import argparse, json, os
from pathlib import Path
from fastcore.nbio import read_nb, write_nb
from execnb.shell import CaptureShell

def execute(path, max_kb=120):
    "Execute the notebook at `path` in its folder and store its outputs; return the stored size in KB."
    path = Path(path).resolve()
    nb, cwd = read_nb(path), os.getcwd()
    os.chdir(path.parent)
    try: CaptureShell(path=path.parent).run_all(nb, exc_stop=True)
    finally: os.chdir(cwd)
    for c in nb.cells:
        if c.cell_type != 'code': continue
        c.outputs = [o for o in c.get('outputs', []) if len(json.dumps(o)) <= max_kb * 1024]
    write_nb(nb, path)
    return path.stat().st_size / 1024

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('notebooks', nargs='+'); ap.add_argument('--max-kb', type=int, default=120)
    a = ap.parse_args()
    for p in a.notebooks: print(f'{p}: {execute(p, a.max_kb):.0f} KB')
