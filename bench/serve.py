"""Server throughput benchmark (imgsearch.serve), run by hand, not a test.

Starts `imgsearch-serve DIR --workers W` (gunicorn) on a free loopback port, warms it up, then sends a bounded load:
C concurrent clients (threads) each sending R requests, one new HTTP connection per request (gunicorn's sync
workers close every connection), to 127.0.0.1 only. Requests cycle through a fixed, seeded list of queries of one
kind at a time: tag (`mode=tag` on the collection's most frequent tags), semantic (`mode=semantic` on
a fixed list of everyday words, plus tags; the words may be tags of the collection), hybrid, more-like-this (`/api/similar`) and cached thumbnails
(`/thumb/<id>`); given words that are no tag of the collection (`workloads(open_words=...)`, as `bench/scale.py`
does), also `open`: `mode=semantic` on those words only. It prints requests/s and p50/p99 latency per kind, and all of them under `--blas` variants.

The load generator runs on the same machine as the server and takes CPU from it (Python threads, one core's
worth at most): the figures are a lower bound of what the server does with the machine to itself. The load
average before each run is printed: other work on the machine lowers the figures too.

    .venv/bin/python bench/serve.py runs/demo --workers 1,2 --clients 8 --requests 100
"""
import argparse, http.client, json, os, random, signal, subprocess, sys, tempfile, time, urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
import numpy as np
from imgsearch.layout import Layout
from imgsearch.serve import free_port, wait_healthy

OPEN_WORDS = ['kitten', 'puppy', 'sunset', 'ocean waves', 'red car', 'vegetables', 'guitar', 'castle', 'snow', 'robot',
              'tropical fruit', 'airplane', 'butterfly', 'skeleton', 'wine', 'rain', 'mountain', 'spaceship', 'tiger', 'bicycle']

def fetch(port, path, timeout=60):
    "GET `path` on 127.0.0.1:port; returns (status, body bytes)."
    c = http.client.HTTPConnection('127.0.0.1', port, timeout=timeout)
    try:
        c.request('GET', path)
        r = c.getresponse()
        return r.status, r.read()
    finally: c.close()

def start(path, port, workers, env, threads=1):
    "Start the production server; return the process once /healthz answers, and the seconds it took."
    cmd = [str(Path(sys.executable).parent/'imgsearch-serve'), str(path), '--port', str(port), '--workers', str(workers),
           '--threads', str(threads)]
    log = open(Path(tempfile.mkdtemp())/'server.log', 'w+')
    t0 = time.time()
    p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env)
    try: wait_healthy(f'http://127.0.0.1:{port}/', p, timeout=600)
    except (RuntimeError, TimeoutError):
        log.seek(0)
        raise SystemExit(f'server did not start:\n{log.read()[-3000:]}')
    return p, time.time() - t0

def stop(p):
    os.killpg(p.pid, signal.SIGTERM)
    try: p.wait(30)
    except subprocess.TimeoutExpired: os.killpg(p.pid, signal.SIGKILL)

def load(port, paths, clients, requests, keepalive=False):
    "Each of `clients` threads sends `requests` GETs cycling through `paths`, a new connection each or (`keepalive`) one kept open; returns (seconds, latencies, errors)."
    def client(c):
        lat, bad, conn = [], 0, None
        for i in range(requests):
            t = time.perf_counter()
            if keepalive:  # as browsers and API clients do: one connection, reopened if the server closed it
                for attempt in (0, 1):
                    conn = conn or http.client.HTTPConnection('127.0.0.1', port, timeout=60)
                    try: conn.request('GET', paths[(c * requests + i) % len(paths)]); r = conn.getresponse(); r.read(); status = r.status; break
                    except (http.client.HTTPException, ConnectionError):
                        conn.close(); conn = None
                        if attempt: raise
            else: status, _ = fetch(port, paths[(c * requests + i) % len(paths)])
            lat.append(time.perf_counter() - t)
            bad += status != 200
        if conn: conn.close()
        return lat, bad
    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as ex: out = list(ex.map(client, range(clients)))
    secs = time.perf_counter() - t0
    return secs, np.array([x for l, _ in out for x in l]), sum(b for _, b in out)

def workloads(path, k, seed=0, open_words=None):
    "Request paths per kind: seeded from the collection's own tags and ids; `open_words` (words that are no tag) add an 'open' kind."
    tags = json.loads((Path(path)/'tag2picid.json').read_text(encoding='utf-8'))
    top = sorted(tags, key=lambda t: -len(tags[t]))[:200]
    ids = [json.loads(l)['id'] for l in Layout(path).collection.read_text(encoding='utf-8').splitlines()]
    rng = random.Random(seed)
    pick = lambda xs, n: rng.sample(xs, min(n, len(xs)))
    q = lambda words, mode: [f'/api/search?{urllib.parse.urlencode(dict(q=w, mode=mode, k=k))}' for w in words]
    return {'tag': q(pick(top, 100), 'tag'),
            'semantic': q(OPEN_WORDS + pick(top, 80), 'semantic'),
            'hybrid': q(OPEN_WORDS + pick(top, 80), 'hybrid'),
            'similar': [f'/api/similar?{urllib.parse.urlencode(dict(id=i, k=k))}' for i in pick(ids, 100)],
            **({'open': q(pick([w for w in open_words if w not in tags], 100), 'semantic')} if open_words else {}),
            'thumb': [f'/thumb/{urllib.parse.quote(i)}' for i in pick(ids, 50)]}

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('path', nargs='?', default='runs/demo', help='a built and trained collection folder')
    ap.add_argument('--workers', default='2', help='gunicorn worker processes; a comma-separated list runs each in turn (e.g. 1,2)')
    ap.add_argument('--threads', type=int, default=1, help='torch/FAISS/BLAS threads per worker (imgsearch-serve --threads)')
    ap.add_argument('--clients', type=int, default=8, help='concurrent client threads')
    ap.add_argument('--requests', type=int, default=100, help='requests per client and kind')
    ap.add_argument('--k', type=int, default=20, help='results per query')
    ap.add_argument('--blas', default='default', help='comma-separated BLAS/OpenMP thread environment settings to compare ("default" leaves them alone)')
    ap.add_argument('--keepalive', action='store_true', help='each client keeps one connection open (default: a new one per request)')
    ap.add_argument('--out', default=None, help='also write the figures as JSON here')
    a = ap.parse_args()
    kinds = workloads(a.path, a.k)
    report = dict(path=str(a.path), workers=a.workers, threads=a.threads, clients=a.clients, requests_per_kind=a.clients * a.requests, k=a.k,
                  cpus=os.cpu_count(), runs=[])
    for workers in map(int, str(a.workers).split(',')):
        for blas in a.blas.split(','):
            env = dict(os.environ)
            if blas != 'default':
                for v in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS'): env[v] = blas
            port = free_port()
            p, started = start(a.path, port, workers, env, a.threads)
            try:
                for paths in kinds.values():  # warm-up: every path once (fills the thumbnail cache, pages in the vectors)
                    for u in paths: fetch(port, u)
                load1 = os.getloadavg()[0]
                print(f'\nserver: gunicorn, {workers} workers, {a.threads} thread(s) each, BLAS/OpenMP environment {blas}; answered /healthz '
                      f'{started:.1f} s after start; load average before the run {load1:.1f} on {os.cpu_count()} CPUs')
                print(f"{'kind':<10}{'requests':>9}{'errors':>7}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}")
                for kind, paths in kinds.items():
                    secs, lat, bad = load(port, paths, a.clients, a.requests, a.keepalive)
                    row = dict(workers=workers, blas=blas, kind=kind, requests=len(lat), errors=bad, rps=len(lat) / secs,
                               p50_ms=float(np.percentile(lat, 50) * 1e3), p99_ms=float(np.percentile(lat, 99) * 1e3), start_s=started, load_before=load1)
                    report['runs'].append(row)
                    print(f"{kind:<10}{row['requests']:>9}{bad:>7}{row['rps']:>9.0f}{row['p50_ms']:>9.1f}{row['p99_ms']:>9.1f}")
            finally: stop(p)
    if a.out: Path(a.out).write_text(json.dumps(report, indent=1))

if __name__ == '__main__': main()
