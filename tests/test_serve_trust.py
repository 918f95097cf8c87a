"""The web server against hostile collections and hostile clients, each case a real `imgsearch-serve` (gunicorn)
(gunicorn, 2 workers) on a free loopback port: only the collection's decoded images leave the server, typed by their
decoded format; slow clients do not starve it; uploads are bounded in bytes (chunked too) and pixels; no answer
reflects the Host header or shows a path or a pid; SIGTERM stops it within seconds.

The collection is built here from 24 drawings of the committed sample plus rows a careless or hostile manifest could
hold: /etc/shadow, ../../etc/passwd, a symlink to /etc/passwd, an HTML page, a script, a PNG named .html and a
symlink to an image outside the collection folder. No network; about a minute on two cores."""
import http.client, io, json, os, shutil, signal, socket, subprocess, sys, threading, time, urllib.error, urllib.request
from pathlib import Path
import pytest
from PIL import Image
from imgsearch.serve import free_port, wait_healthy

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = dict(pw='/etc/shadow', up='../../etc/passwd', link='secret/passwd.jpg', page='evil.html', script='evil.js',
               poly='poly.html', out='out.png')

def _get(url, timeout=30):
    "(status, headers, body) of a GET, errors included."
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r: return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e: return e.code, e.headers, e.read()

def _start(path, log, *args):
    "`imgsearch-serve path` (gunicorn) on a free port; returns (process, url) once /healthz answers."
    port = free_port()
    cmd = [str(Path(sys.executable).parent/'imgsearch-serve'), str(path), '--port', str(port), '--workers', '2', *args]
    with open(log, 'w') as f: p = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, start_new_session=True)
    url = f'http://127.0.0.1:{port}/'
    try: wait_healthy(url, p, timeout=180)
    except (RuntimeError, TimeoutError):
        p.kill(); pytest.fail(f'server did not start:\n{Path(log).read_text()}')
    return p, url

def _stop(p):
    "SIGTERM to the master; seconds until the whole process group is gone (SIGKILL after 30 s)."
    t0 = time.time()
    os.killpg(p.pid, signal.SIGTERM)
    try: p.wait(30)
    except subprocess.TimeoutExpired: pass
    while time.time() - t0 < 30:
        try: os.killpg(p.pid, 0)
        except ProcessLookupError: return time.time() - t0
        time.sleep(0.05)
    os.killpg(p.pid, signal.SIGKILL); p.wait()
    return time.time() - t0

@pytest.fixture(scope='module')
def built(tmp_path_factory):
    "A built collection of 24 sample drawings and the hostile rows, with `root` recorded in build.json."
    from imgsearch.build import build_collection
    from imgsearch.data import Collection, Item
    from imgsearch.layout import Layout
    top = tmp_path_factory.mktemp('trust')
    coll = top/'coll'; (coll/'secret').mkdir(parents=True)
    pngs = sorted((ROOT/'data'/'sample'/'images').rglob('*.png'))[:24]
    items = []
    for i, f in enumerate(pngs):
        shutil.copy(f, coll/f'img{i}.png')
        items.append(Item(f'img{i}', str(coll/f'img{i}.png'), ()))
    (coll/'evil.html').write_text('<script>alert(document.cookie)</script>')
    (coll/'evil.js').write_text('alert(document.cookie)')
    shutil.copy(pngs[0], coll/'poly.html')  # a real PNG with a web page's name
    (coll/'secret'/'passwd.jpg').symlink_to('/etc/passwd')
    shutil.copy(pngs[1], top/'elsewhere.png')
    (coll/'out.png').symlink_to(top/'elsewhere.png')  # a decodable image outside the collection folder
    items += [Item(k, str(coll/v), ()) for k, v in HOSTILE.items()]  # no tags: served without a model
    out = top/'built'
    build_collection(Collection(items, coll, 'hostile'), out, batch_size=16, progress=False)
    b = json.loads(Layout(out).build_report.read_text())
    if b.get('root') is None:  # a build from before build.json recorded its root: what a manifest in coll/ gives
        b.update(root=str(coll.resolve()), images_anywhere=False)
        Layout(out).build_report.write_text(json.dumps(b))
    return out, coll, pngs

@pytest.fixture(scope='module')
def server(built, tmp_path_factory):
    "The hostile collection served by `imgsearch-serve` (gunicorn); yields its URL."
    p, url = _start(built[0], tmp_path_factory.mktemp('log')/'server.log')
    try: yield url
    finally: _stop(p)

def test_only_decoded_images_leave(server, built):
    "Rows naming system files, symlinks out, HTML, scripts and outside images: 404 JSON, no byte of them; a PNG named .html goes out as image/png."
    _, coll, pngs = built
    for id in HOSTILE:
        if id == 'poly': continue
        for what in ('image', 'thumb'):
            code, headers, body = _get(server + f'{what}/{id}')
            assert code == 404 and headers['Content-Type'] == 'application/json', (id, what, code, headers['Content-Type'])
            assert b'root:' not in body and b'<script' not in body and b'alert(' not in body, (id, body[:200])
            assert str(coll) not in body.decode() and '/etc' not in body.decode(), body
    code, headers, body = _get(server + 'image/poly')
    assert (code, headers['Content-Type'], body) == (200, 'image/png', pngs[0].read_bytes())
    code, headers, body = _get(server + 'image/img3')
    assert (code, headers['Content-Type'], body) == (200, 'image/png', pngs[3].read_bytes())
    assert _get(server + 'thumb/img3')[1]['Content-Type'] == 'image/jpeg'
    for id in HOSTILE:  # the JSON API gives a picture's URLs only to rows that have one
        code, _, body = _get(server + f'api/image?id={id}')
        assert code == 200 and (('image_url' in json.loads(body)) == (id in ('poly', 'out'))), (id, code, body[:300])
    html = _get(server + 'similar?id=pw')[2].decode()
    assert 'src="/thumb/pw"' not in html and 'nothing to compare' in html, html[-1500:]  # no picture for the query image either
    assert 'src="/thumb/img' in _get(server + 'similar?id=img0')[2].decode()
    for id in HOSTILE:  # an image's page: the picture only where it may leave, never a path
        code, _, body = _get(server + f'view/{id}')
        assert code == 200 and (('class="large"' in body.decode()) == (id == 'poly')), (id, code, body[-1500:])
        assert str(coll) not in body.decode() and '/etc' not in body.decode() and b'<script>alert' not in body, body[-1500:]

def test_slow_clients_do_not_starve(server):
    "20 connections that send a header line every 2 s; /healthz and /api/search from another client still answer in < 2 s."
    stop, socks = threading.Event(), []
    def slow(s):
        try:
            s.sendall(b'GET /healthz HTTP/1.1\r\nHost: x\r\n')
            while not stop.wait(2): s.sendall(b'X-Slow: 1\r\n')
        except OSError: pass
    port = int(server.rsplit(':', 1)[1].strip('/'))
    for _ in range(20):
        s = socket.create_connection(('127.0.0.1', port), timeout=30); socks.append(s)
        threading.Thread(target=slow, args=(s,), daemon=True).start()
    try:
        time.sleep(3)  # every slow connection has been accepted and holds its place
        worst = 0.
        for i in range(10):
            for path in ('healthz', 'api/search?q=drawing&k=5&mode=semantic'):
                t0 = time.time(); code = _get(server + path, timeout=10)[0]
                worst = max(worst, time.time() - t0)
                assert code == 200, (path, code)
            time.sleep(0.5)
        assert worst < 2, worst
    finally:
        stop.set()
        for s in socks: s.close()

def test_no_host_reflection(server):
    "`GET /image//x` with a foreign Host header: a plain 404, no redirect to that host."
    port = int(server.rsplit(':', 1)[1].strip('/'))
    c = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
    c.request('GET', '/image//img3', headers={'Host': 'evil.example.com'})
    r = c.getresponse(); body = r.read(); c.close()
    assert r.status == 404 and r.getheader('Location') is None, (r.status, r.getheader('Location'))

def test_healthz_shows_no_pid_or_path(server, built):
    code, _, body = _get(server + 'healthz')
    assert code == 200 and set(json.loads(body)) == {'status', 'images', 'tags'}, body

def test_upload_limits(server):
    "A chunked body over MAX_CONTENT_LENGTH and an 88-megapixel PNG of a few kB: both 413, the bomb before decoding."
    port = int(server.rsplit(':', 1)[1].strip('/'))
    buf = io.BytesIO(); Image.new('1', (11_000, 8_000)).save(buf, 'PNG')
    c = http.client.HTTPConnection('127.0.0.1', port, timeout=30)
    t0 = time.time()
    c.request('POST', '/api/search/image', body=buf.getvalue(), headers={'Content-Type': 'image/png'})
    r = c.getresponse(); body = json.loads(r.read()); c.close()
    assert (r.status, body['error']) == (413, 'Picture too large: 11000 × 8000 pixels, at most 25,000,000 pixels.'), body
    assert time.time() - t0 < 2
    def chunks():
        for _ in range(9 * 16): yield b'\0' * 2**16  # 9 MB, no Content-Length
    c = http.client.HTTPConnection('127.0.0.1', port, timeout=30)
    try: c.request('POST', '/api/search/image', body=chunks(), headers={'Content-Type': 'image/png'}, encode_chunked=True)
    except (BrokenPipeError, ConnectionResetError): pass  # the server may answer and close before the client has sent it all
    r = c.getresponse(); body = json.loads(r.read()); c.close()
    assert (r.status, body['error']) == (413, 'Upload too large: at most 8 MB.'), (r.status, body)

def test_sigterm_stops_within_seconds(built, tmp_path):
    "After an image query (each worker holds an ONNX Runtime session) and with slow clients connected, SIGTERM ends every process in < 10 s."
    p, url = _start(built[0], tmp_path/'server.log')
    png = built[2][0].read_bytes()
    n = json.loads(_get(url + 'healthz')[2])['images']
    for _ in range(4):
        req = urllib.request.Request(url + 'api/search/image?k=3', data=png, headers={'Content-Type': 'image/png'})
        with urllib.request.urlopen(req, timeout=60) as r: assert r.status == 200
    port = int(url.rsplit(':', 1)[1].strip('/'))
    socks = [socket.create_connection(('127.0.0.1', port)) for _ in range(3)]
    for s in socks: s.sendall(b'GET /healthz HTTP/1.1\r\n')
    try: secs = _stop(p)
    finally:
        for s in socks: s.close()
    log = (tmp_path/'server.log').read_text()
    assert secs < 10, (secs, log[-3000:])
    assert f'imgsearch: serving {n} images at {url}' in log, log  # the live images, as /healthz counts them
