"""Take the documentation's picture of the ipywidgets `SearchBox` in use: nbs/images/widget.png.

Usage (by hand, after `bash tools/start.sh --no-serve` has built and trained the demo collection):

    .venv/bin/python tools/widget_shot.py runs/demo --query bird

It writes a throw-away notebook that shows `SearchBox(DIR)` after a search for the query, starts JupyterLab on it
(127.0.0.1, a random token, a free port, settings in a temporary folder), opens it in headless Debian chromium through
Playwright, runs the cell, waits for every result thumbnail to load, and saves a screenshot cropped to the widget,
quantised to a palette PNG to keep it small. Needs jupyterlab (`tools/lab.sh` installs it) and chromium at
/usr/bin/chromium or $IMGSEARCH_CHROMIUM (`bash tools/browser.sh`); Playwright's own browser download is never used.
It is not a test: the notebook 10_widget tests the widget without a browser.
"""
import argparse, json, os, secrets, shutil, signal, subprocess, sys, tempfile, time, urllib.error, urllib.request
from pathlib import Path
from imgsearch.layout import Layout
from imgsearch.serve import free_port

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path(os.environ.get('IMGSEARCH_CHROMIUM', '/usr/bin/chromium'))
FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync']

def _notebook(path, coll, query, k, size, columns):
    "Write a one-cell notebook that shows a `SearchBox` on `coll` after searching for `query`."
    src = (f'from imgsearch.widget import SearchBox\n'
           f'box = SearchBox({str(coll)!r}, k={k}, size={size}, columns={columns})\n'
           f'box.search({query!r})\n'
           f'box')
    nb = dict(nbformat=4, nbformat_minor=5, metadata=dict(kernelspec=dict(name='python3', display_name='Python 3', language='python')),
              cells=[dict(id='shot', cell_type='code', metadata={}, execution_count=None, outputs=[], source=src)])
    path.write_text(json.dumps(nb))

def _start_lab(root, tmp, port, token):
    "Start JupyterLab on `root` with its settings, runtime and workspaces in `tmp`; return the process and its log."
    conf = tmp/'config'
    (conf/'labconfig').mkdir(parents=True)
    # no announcements or update checks: they would ask for the network and cover the page with a notification
    (conf/'labconfig'/'page_config.json').write_text(json.dumps({'disabledExtensions': {'@jupyterlab/apputils-extension:announcements': True}}))
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(conf), JUPYTER_RUNTIME_DIR=str(tmp/'runtime'), JUPYTERLAB_SETTINGS_DIR=str(tmp/'settings'),
               JUPYTERLAB_WORKSPACES_DIR=str(tmp/'workspaces'), JUPYTER_PLATFORM_DIRS='1')
    cmd = [str(Path(sys.executable).parent/'jupyter'), 'lab', '--no-browser', '--ip', '127.0.0.1', '--port', str(port),
           f'--IdentityProvider.token={token}', f'--ServerApp.root_dir={root}', '--LabApp.expose_app_in_browser=True',
           '--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate', '--LabApp.news_url=None']
    if os.getuid() == 0: cmd.append('--allow-root')
    log = tmp/'lab.log'
    with open(log, 'w') as f: p = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    url, t0 = f'http://127.0.0.1:{port}/', time.time()
    while True:
        try:
            with urllib.request.urlopen(f'{url}api/status?token={token}', timeout=5): return p, log, url
        except (urllib.error.URLError, ConnectionError):
            if p.poll() is not None or time.time() - t0 > 120: _stop(p); sys.exit(f'widget_shot: JupyterLab did not start:\n{log.read_text()[-3000:]}')
            time.sleep(0.5)

def _stop(p):
    if p.poll() is not None: return
    os.killpg(p.pid, signal.SIGTERM)
    try: p.wait(30)
    except subprocess.TimeoutExpired: os.killpg(p.pid, signal.SIGKILL); p.wait()

def _shoot(url, token, out, timeout):
    "Open the notebook in chromium, run it, and save a screenshot of the widget to `out`; return the number of results."
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)
        try:
            page = b.new_page(viewport=dict(width=1400, height=1100))
            page.goto(f'{url}lab/tree/shot.ipynb?reset&token={token}')
            page.wait_for_function("""() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
                                              const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
                                              return k && k.status === 'idle'; }""", timeout=timeout * 1000)
            page.evaluate("""async () => { const app = window.jupyterapp;
                                           if (!app.shell.leftCollapsed) await app.commands.execute('application:toggle-left-area');
                                           await app.commands.execute('notebook:run-all-cells'); }""")
            box = page.locator('.jp-OutputArea-output .widget-vbox').first
            box.wait_for(timeout=timeout * 1000)
            page.wait_for_function("""() => { const imgs = [...document.querySelectorAll('.jp-OutputArea-output .widget-image')];
                                              return imgs.length > 0 && imgs.every(i => i.complete && i.naturalWidth > 0); }""",
                                   timeout=timeout * 1000)
            errors = page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
            if errors.count(): sys.exit(f'widget_shot: the cell failed:\n{errors.first.inner_text()[-3000:]}')
            page.mouse.move(0, 0)  # no hover highlight on the picture
            page.wait_for_timeout(500)
            box.scroll_into_view_if_needed()
            clip = box.evaluate("""el => { const r0 = el.getBoundingClientRect(); let right = r0.left;  // the box spans the page: crop to its content
                                           for (const c of el.querySelectorAll('.widget-hbox > *, .widget-gridbox > *')) right = Math.max(right, c.getBoundingClientRect().right);
                                           return {x: r0.left - 6, y: r0.top - 6, width: right - r0.left + 12, height: r0.height + 9}; }""")  # 3 px below: the cell's frame is 6 px below
            page.screenshot(path=str(out), clip=clip)
            return page.locator('.jp-OutputArea-output .widget-image').count()
        finally: b.close()

def _shrink(path, colors):
    "Quantise the PNG at `path` to a palette of `colors`, in place; return its size in bytes."
    from PIL import Image
    with Image.open(path) as im: im = im.convert('RGB')
    im.quantize(colors, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.FLOYDSTEINBERG).save(path, optimize=True)
    return path.stat().st_size

def widget_shot(coll, query='bird', out=ROOT/'nbs'/'images'/'widget.png', k=12, size=128, columns=6, colors=128, timeout=180):
    "Save a picture of `SearchBox(coll)` showing the results of `query` to `out`; return (results shown, bytes)."
    coll = Path(coll).resolve()
    if not Layout(coll).model().is_file(): sys.exit(f'widget_shot: {coll} is not a built and trained collection (no {Layout(coll).model()})')
    if not CHROMIUM.is_file(): sys.exit(f'widget_shot: no chromium at {CHROMIUM}: run `bash tools/browser.sh` or set IMGSEARCH_CHROMIUM')
    tmp = Path(tempfile.mkdtemp(prefix='widget-shot-'))
    try:
        (tmp/'nb').mkdir()
        _notebook(tmp/'nb'/'shot.ipynb', coll, query, k, size, columns)
        token = secrets.token_hex(16)
        p, log, url = _start_lab(tmp/'nb', tmp, free_port(), token)
        try: n = _shoot(url, token, tmp/'shot.png', timeout)
        except Exception: print(log.read_text()[-3000:], file=sys.stderr); raise
        finally: _stop(p)
        out = Path(out); out.parent.mkdir(parents=True, exist_ok=True)
        nbytes = _shrink(tmp/'shot.png', colors)
        shutil.copy(tmp/'shot.png', out)
        return n, nbytes
    finally: shutil.rmtree(tmp, ignore_errors=True)

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('collection', nargs='?', default=str(ROOT/'runs'/'demo'), help='a built and trained collection folder (default runs/demo)')
    ap.add_argument('--query', default='bird', help='what the box searches for')
    ap.add_argument('--out', default=str(ROOT/'nbs'/'images'/'widget.png'), help='the PNG to write')
    ap.add_argument('--k', type=int, default=12, help='results shown')
    ap.add_argument('--size', type=int, default=128, help='thumbnail side in pixels')
    ap.add_argument('--columns', type=int, default=6, help='results per row')
    ap.add_argument('--colors', type=int, default=128, help='palette size of the saved PNG')
    ap.add_argument('--timeout', type=int, default=180, help='seconds to wait for each step in the browser')
    a = ap.parse_args()
    t0 = time.time()
    n, nbytes = widget_shot(a.collection, a.query, a.out, a.k, a.size, a.columns, a.colors, a.timeout)
    print(f'widget_shot: {n} results for {a.query!r} in {a.out} ({nbytes / 1024:.0f} KB, {time.time() - t0:.0f} s)')
