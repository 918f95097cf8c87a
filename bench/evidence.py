"""Benchmark of the neighbour table (`imgsearch.evidence.nearest_evidence`) above 100,000 tagged images, run by hand,
not a test.

Training chooses the engine's vote on a few thousand validation images (`tune_ranking`); the evaluation needs the
table of every withheld image. Both ask for each row's nearest tagged images among up to 1.4 million at the seed's
scale. This writes float16 features to a memory-mapped file, as the image stage stores them at that size, and times
in one run, on the same rows:

- **the engine**: `nearest_evidence` as the library runs it: rows compared with every tagged image when that costs at
  most `EVIDENCE_WORK` multiply-adds, else through the approximate index (`_evidence_index`);
- **the IVF route**: what the rows would cost through the approximate index whatever the cost of the exact
  comparison: its build and calibration (`_evidence_index`), then the search with its candidates re-scored against
  the full features (`_searched`).

Features: `--clusters` centres in 1280-d plus Gaussian noise of `--noise` times a centre's length (with much noise the
nearest neighbours are spread over the IVF's lists, as in the scale bench's synthetic features).

With `--table`, every image gets its neighbours among the tagged ones, as the index stage's neighbour table
(`imgsearch.lookups.save_neighbours`) does: the first `--rows` images are untagged, the rest tagged. Prints the time,
the peak memory and `nearest_evidence`'s report (method, probes, recall@10 and cosine ratio on its calibration
sample).

    .venv/bin/python bench/evidence.py --n 400000 --rows 2000
    .venv/bin/python bench/evidence.py --n 1700000 --rows 170000 --table   # the neighbour table at the seed's scale
"""
import argparse, os, resource, tempfile, time
import numpy as np
from imgsearch import evidence as E

def features(path, n, d, clusters, noise, seed=0):
    "Memory-mapped float16 features [n, d] at `path`: cluster centres plus noise."
    rng = np.random.default_rng(seed)
    C = rng.standard_normal((clusters, d)).astype(np.float32)
    f = np.lib.format.open_memmap(path, 'w+', np.float16, (n, d))
    for lo in range(0, n, 100_000):
        m = min(100_000, n - lo)
        f[lo:lo + m] = (C[rng.integers(0, clusters, m)] + noise * rng.standard_normal((m, d), dtype=np.float32)).astype(np.float16)
    f.flush(); del f
    return np.load(path, mmap_mode='r')

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--n', type=int, default=400_000, help='images, all tagged but the first --rows')
    ap.add_argument('--rows', type=int, default=2000, help='rows that get neighbours (validation images)')
    ap.add_argument('--dim', type=int, default=1280, help='feature size')
    ap.add_argument('--clusters', type=int, default=2000, help='cluster centres')
    ap.add_argument('--noise', type=float, default=1.0, help='noise per dimension, against centres of unit variance per dimension')
    ap.add_argument('--k', type=int, default=20, help='neighbours per row')
    ap.add_argument('--table', action='store_true', help="every image's neighbours (the index stage's table), not only --rows")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        feats = features(os.path.join(tmp, 'feats.npy'), a.n, a.dim, a.clusters, a.noise)
        rows, ev = np.arange(a.rows), np.arange(a.rows, a.n)
        if a.table:
            rep, t = {}, time.perf_counter()
            nb, sims = E.nearest_evidence(feats, np.arange(a.n), ev, k=a.k, report=rep)
            print(f'{a.n:,} images ({len(ev):,} tagged), k {a.k}, {a.dim}-d float16, noise {a.noise}: the neighbour table of every image')
            print(f'{time.perf_counter() - t:.1f} s, peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB; {rep}')
            print(f'rows without a full table: {int((nb < 0).any(1).sum())}; mean cosine of the nearest: {sims[:, 0].mean():.4f}')
            return
        rep, t = {}, time.perf_counter(); nb, _ = E.nearest_evidence(feats, rows, ev, k=a.k, report=rep); engine = time.perf_counter() - t
        calib, t = {}, time.perf_counter(); ix = E._evidence_index(feats, ev, 0.95, 8192, a.rows, E.EVIDENCE_WORK, calib); build = time.perf_counter() - t
        t = time.perf_counter()
        got = np.concatenate([E._searched(ix, feats, rows[lo:lo + 8192], ev, a.k)[0] for lo in range(0, a.rows, 8192)])
        search, same = time.perf_counter() - t, np.mean([len(np.intersect1d(x, y)) / a.k for x, y in zip(nb, got)])
        print(f'{a.n:,} images ({len(ev):,} tagged), {a.rows:,} rows, k {a.k}, {a.dim}-d float16, noise {a.noise}; the engine: {rep}; the IVF route: {calib}')
        print('| neighbour table | seconds |\n|---|---|')
        print(f'| the engine | {engine:.1f} |\n| the IVF route: build and calibration | {build:.1f} |\n| the IVF route: search | {search:.1f} |')
        print(f'the IVF route / the engine: {(build + search) / engine:.1f}x the time; neighbours in common: {same:.3f}')

if __name__ == '__main__': main()
