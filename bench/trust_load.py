"""Loopback load through the production server while it is disrupted, run by hand, not a test (imgsearch.serve).

Copies a built collection DIR (the sample by default: built first, about 4 minutes on two cores) to a temporary
folder, serves it with `imgsearch-serve --workers 2 --reload-every 1` (gunicorn) on a free loopback port, and
sends a bounded load: C client threads for S seconds, each request one of tag / semantic / hybrid search,
more-like-this, or an image upload (one in ten), after which the client follows some of the answer's links (three
thumbnails and one image). Mid-way one worker is killed with SIGKILL (gunicorn starts another from the master,
whose state predates the update below), and a little later ten images of the collection are deleted from disk and
the collection is updated (`update_collection` in a subprocess: those ten removed, three new drawings added).
After the load, two more updates make three reloads in all.

It prints: requests and failures per kind; links followed and how many were broken (any answer but 200), before
and after the update returned; the latency of searches; the memory of the server (PSS, from
/proc/PID/smaps_rollup, master and workers together) after the first load and after each reload.

    .venv/bin/python bench/trust_load.py [DIR] --clients 8 --seconds 30
"""
import argparse, http.client, json, os, random, shutil, signal, subprocess, sys, tempfile, threading, time, urllib.parse
from collections import Counter, defaultdict
from pathlib import Path
from imgsearch.serve import free_port, wait_healthy

def request(port, method, path, body=None, headers={}, timeout=60):
    "(status, body) of one request on a new connection; (None, error) when it fails."
    c = http.client.HTTPConnection('127.0.0.1', port, timeout=timeout)
    try:
        c.request(method, path, body=body, headers=headers)
        r = c.getresponse()
        return r.status, r.read()
    except (OSError, http.client.HTTPException) as e: return None, repr(e).encode()  # a reset, or a body cut short
    finally: c.close()

def pss_kb(pid):
    "Proportional set size of a process in kB (shared pages split between the processes that share them): (anonymous, file-backed)."
    d = {l.split(':')[0]: int(l.split()[1]) for l in Path(f'/proc/{pid}/smaps_rollup').read_text().splitlines()[1:]}
    return d.get('Pss_Anon', d['Pss']), d['Pss'] - d.get('Pss_Anon', d['Pss'])

def server_pss(p):
    "PSS of gunicorn's master and its workers together, in MB; the worker pids; each process's PSS (anonymous + file-backed) in MB."
    kids = [int(x) for x in subprocess.run(['pgrep', '-P', str(p.pid)], capture_output=True, text=True).stdout.split()]
    each = {q: pss_kb(q) for q in [p.pid, *kids]}
    return round(sum(sum(v) for v in each.values()) / 1024, 1), kids, ' '.join(f'{a / 1024:.0f}+{f / 1024:.0f}' for a, f in each.values())

UPDATE = r'''
import json, sys
from imgsearch.data import Collection, Item
from imgsearch.update import update_collection
rows = json.load(open(sys.argv[2]))
update_collection(Collection([Item(r['id'], r['path'], tuple(r['tags'])) for r in rows]), sys.argv[1], progress=False)
'''

def update(live, rows, tmp):
    "Update the built folder `live` to the collection `rows` in a subprocess; seconds taken."
    f = Path(tmp)/'rows.json'; f.write_text(json.dumps(rows))
    t0 = time.time()
    subprocess.run([sys.executable, '-c', UPDATE, str(live), str(f)], check=True)
    return time.time() - t0

def wait_all(port, images, n=20, timeout=120):
    "Until `n` health answers in a row report `images` live images (so both workers serve the new state)."
    t0, ok = time.time(), 0
    while ok < n and time.time() - t0 < timeout:
        s, b = request(port, 'GET', '/healthz', timeout=10)
        ok = ok + 1 if s == 200 and json.loads(b)['images'] == images else 0
        time.sleep(0.05)
    return ok >= n

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('dir', nargs='?', help='a built collection folder (default: the sample, built in a temporary folder)')
    ap.add_argument('--clients', type=int, default=8, help='client threads')
    ap.add_argument('--seconds', type=float, default=30, help='length of the load')
    ap.add_argument('--reloads', type=int, default=3, help='reloads in all (the first under load), memory measured after each')
    ap.add_argument('--seed', type=int, default=0)
    a = ap.parse_args()
    from PIL import Image
    from imgsearch.data import Collection
    from imgsearch.layout import Layout
    tmp = Path(tempfile.mkdtemp(prefix='trust-load-'))
    src = Path(a.dir) if a.dir else None
    if src is None:
        from imgsearch.pipeline import build_sample
        src = build_sample(tmp/'sample')
    live = tmp/'live'
    shutil.copytree(src, live, ignore=shutil.ignore_patterns('thumbs'))
    coll = Collection.load(Layout(live).collection)
    rows = [dict(id=it.id, path=it.path, tags=list(it.tags)) for it in coll if not it.removed]
    rng = random.Random(a.seed)
    own = tmp/'own'; own.mkdir()  # ten images get files of their own, deleted before the update that removes them
    doomed = rng.sample(range(len(rows)), 10)
    for i in doomed:
        f = own/f'{i}{Path(rows[i]["path"]).suffix}'; shutil.copy(rows[i]['path'], f); rows[i]['path'] = str(f)
    print(f'preparing {live}: {update(live, rows, tmp):.1f} s', flush=True)
    flips = []
    for i in range(a.reloads + 2):
        f = own/f'flip{i}.png'
        Image.open(rows[i * 7]['path']).convert('RGB').transpose(Image.Transpose.FLIP_TOP_BOTTOM).save(f)
        flips.append(dict(id=f'flip{i}', path=str(f), tags=['upside down']))
    tags = sorted({t for r in rows for t in r['tags']})
    keep = [r for i, r in enumerate(rows) if i not in doomed]  # ids that stay: more-like-this asks for these
    upload = Path(rows[1]['path']).read_bytes()

    port = free_port()
    log = open(tmp/'server.log', 'w+')
    cmd = [str(Path(sys.executable).parent/'imgsearch-serve'), str(live), '--port', str(port), '--workers', '2', '--reload-every', '1']
    p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    t0 = time.time()
    try: wait_healthy(f'http://127.0.0.1:{port}/', p, timeout=300)
    except (RuntimeError, TimeoutError): log.seek(0); sys.exit(f'server did not start:\n{log.read()[-3000:]}')
    print(f'server up in {time.time() - t0:.1f} s on port {port}', flush=True)
    for _ in range(20): request(port, 'GET', '/api/search?q=' + urllib.parse.quote(rng.choice(tags)))
    mem = [('after start-up', *server_pss(p))]

    stats, lock, done = defaultdict(Counter), threading.Lock(), threading.Event()
    lat, phase, killed = [], {'updated': None}, [float('inf')]
    def note(kind, key, n=1):
        with lock: stats[kind][key] += n
    def client(seed):
        r = random.Random(seed)
        while not done.is_set():
            u = r.random()
            if u < 0.1: kind, s, b = 'upload', *request(port, 'POST', '/api/search/image?k=10', upload, {'Content-Type': 'image/png'})
            else:
                if u < 0.3: kind, path = 'similar', '/api/similar?' + urllib.parse.urlencode(dict(id=r.choice(keep)['id'], k=10))
                else:
                    kind = r.choice(['tag', 'semantic', 'hybrid'])
                    path = '/api/search?' + urllib.parse.urlencode(dict(q=r.choice(tags), mode=kind, k=10, min_score=-1))
                t = time.time(); s, b = request(port, 'GET', path); lat.append(time.time() - t)
            after = phase['updated'] is not None and time.time() > phase['updated']
            if s is None and killed[0] <= time.time() <= killed[0] + 1:
                note(kind, 'cut by the kill'); print(f'  {kind} cut by the kill: {b[:120]!r}', flush=True); continue
            if s != 200:
                note(kind, 'failed'); print(f'  {kind} failed: {s} {b[:200]!r}', flush=True); continue
            note(kind, 'ok')
            hits = json.loads(b)['results']
            links = [h['thumb_url'] for h in r.sample(hits, min(3, len(hits))) if 'thumb_url' in h]
            links += [h['image_url'] for h in hits[:1] if 'image_url' in h]
            for link in links:
                s2, b2 = request(port, 'GET', urllib.parse.quote(link))
                key = ('broken after update' if after else 'broken') if s2 != 200 else 'ok'
                if s2 is None and killed[0] <= time.time() <= killed[0] + 1: key = 'cut by the kill'
                note('links', key)
                if s2 != 200: print(f'  broken link {link}: {s2} {b2[:200]!r}', flush=True)
    threads = [threading.Thread(target=client, args=(a.seed * 100 + i,)) for i in range(a.clients)]
    start = time.time()
    for t in threads: t.start()
    time.sleep(a.seconds / 3)
    workers = server_pss(p)[1]
    killed[0] = time.time(); os.kill(workers[0], signal.SIGKILL)
    print(f'{time.time() - start:.1f} s: killed worker {workers[0]}', flush=True)
    time.sleep(a.seconds / 6)
    for i in doomed: Path(rows[i]['path']).unlink()
    now = [r for i, r in enumerate(rows) if i not in doomed] + flips[:3]
    print(f'{time.time() - start:.1f} s: deleted 10 files; updating', flush=True)
    secs = update(live, now, tmp)
    phase['updated'] = time.time()
    print(f'{time.time() - start:.1f} s: update returned after {secs:.1f} s', flush=True)
    time.sleep(max(0., start + a.seconds - time.time()))
    done.set()
    for t in threads: t.join()
    took = time.time() - start
    ok = wait_all(port, len(now))
    mem.append(('after reload 1 (the update under load)', *server_pss(p)))
    for k in range(2, a.reloads + 1):  # more updates: one more drawing each
        now = now + flips[k + 1:k + 2]
        update(live, now, tmp)
        ok &= wait_all(port, len(now))
        for _ in range(20): request(port, 'GET', '/api/search?q=' + urllib.parse.quote(rng.choice(tags)))
        mem.append((f'after reload {k}', *server_pss(p)))
    t = time.time(); os.killpg(p.pid, signal.SIGTERM)
    try: p.wait(30)
    except subprocess.TimeoutExpired: os.killpg(p.pid, signal.SIGKILL)
    stop = time.time() - t
    log.seek(0); out = log.read()

    searches = sum(stats[k]['ok'] + stats[k]['failed'] + stats[k]['cut by the kill'] for k in ('tag', 'semantic', 'hybrid', 'similar', 'upload'))
    failed = sum(stats[k]['failed'] for k in ('tag', 'semantic', 'hybrid', 'similar', 'upload'))
    lat.sort()
    print(f'\n{a.clients} clients, {took:.1f} s: {searches} searches ({searches / took:.1f}/s), {failed} failed')
    for k in ('tag', 'semantic', 'hybrid', 'similar', 'upload'):
        print(f'  {k:9s} ok {stats[k]["ok"]:5d}  failed {stats[k]["failed"]}  connection cut by the worker kill {stats[k]["cut by the kill"]}')
    print(f'links followed: {sum(stats["links"].values())}, broken before the update returned: {stats["links"]["broken"]}, '
          f'after: {stats["links"]["broken after update"]}, connection cut by the worker kill: {stats["links"]["cut by the kill"]}')
    if lat: print(f'GET search latency: p50 {lat[len(lat) // 2] * 1000:.0f} ms, p99 {lat[int(len(lat) * .99)] * 1000:.0f} ms, max {lat[-1] * 1000:.0f} ms')
    print(f'all workers on each new state: {ok}; reload lines in the log: {out.count("reloaded")}')
    for what, mb, kids, each in mem: print(f'PSS {what}: {mb} MB (master + {len(kids)} workers; anonymous+file MB each: {each})')
    print(f'SIGTERM to gone: {stop:.1f} s')
    shutil.rmtree(tmp, ignore_errors=True)

if __name__ == '__main__': main()
