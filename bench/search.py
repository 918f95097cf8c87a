"""Benchmark of the search engine (imgsearch.search), run by hand, not a test.

Measures in-process query latency (p50/p99 over many queries, one at a time, after a warm-up) and the recall@100
of the vector index against exact search:

  (a) the demo collection (runs/demo, built and trained): `Engine.search` end to end, i.e. query normalisation,
      word vectors, text tower, ranking and the page of `Hit`s, for tag, open-vocabulary (words that are not tags)
      and hybrid queries, plus `similar` and `search_image`; and an IVF index forced onto the demo's own vectors to
      check the nprobe calibration on real vectors;
  (b) 1.7 million synthetic 128-d unit vectors shaped like the demo's: `synthetic_vectors` with parameters fitted
      (grid search) so that at the demo's size its statistics match those of the demo's projected images and of
      its open-vocabulary queries (mean pair cosine, nearest-neighbour cosine, PCA-20 variance share, query top-1
      and top-10 cosine; printed side by side). Each index kind of `--kinds` (default: the graph (hnsw) and the
      plain IVF, side by side on the same vectors and queries; `ivfpq` can be added) is built, saved, memory-mapped
      back as the engine does, then `rank` runs tag, semantic and hybrid queries given a query vector (the text
      tower costs what (a) shows), and hybrid queries whose semantic part is the tag's stored list (`save_tag_tops`);
  (c) the same with 1.7 million isotropic random unit vectors: no structure for any index to use, the worst case.

Prints one markdown table. Goals: p50 < 10 ms for a tag or open-vocabulary query at 1.7 million images,
recall@100 >= 0.95.

    .venv/bin/python bench/search.py                 # everything (about 10 minutes on 2 cores)
    .venv/bin/python bench/search.py --n 200000 --no-isotropic --demo ''   # a quick run
"""
import argparse, os, shutil, tempfile, time
from pathlib import Path
import numpy as np
from imgsearch.layout import Layout
from imgsearch.vectors import VectorIndex
from imgsearch.project import build_vector_index
from imgsearch.search import Engine
from imgsearch.ranking import rank, MAX_RESULTS
from fixtures import synthetic_vectors, timed  # bench/fixtures.py

def row(table, what, n, ts, recall='', note=''):
    table.append(f'| {what} | {n:,} | {len(ts)} | {np.median(ts) * 1e3:.2f} | {np.percentile(ts, 99) * 1e3:.2f} | {recall} | {note} |')

def recall_at(vi, Q, k=100, rows=None):
    "Mean share of the exact top-k that the index returns (per query; restricted to `rows` when given)."
    got, I0 = [], vi.exact(Q, k)[1] if rows is None else None
    for i, q in enumerate(Q):
        r = None if rows is None else rows[i]
        if r is None: ex = I0[i]
        else:
            r = r[np.asarray(vi.valid[r])]; ex = r[np.argsort(-(np.asarray(vi.vectors[r]) @ q))[:k]]
        got.append(len(np.intersect1d(vi.search(q, k, r)[1], ex)) / max(len(ex), 1))
    return float(np.mean(got))

def stats(V, Q):
    "Shape statistics of unit vectors V and queries Q: mean pair cosine, mean nearest-neighbour cosine, PCA-20 share, query top-1/top-10 cosine."
    V = np.asarray(V, np.float32); S = V @ V.T; np.fill_diagonal(S, np.nan)
    ev = np.linalg.eigvalsh(np.cov(V.T))[::-1]; T = np.sort(V @ Q.T, 0)
    return dict(pair=np.nanmean(S), nn=np.nanmax(S, 1).mean(), pca20=ev[:20].sum() / ev.sum(), top1=T[-1].mean(), top10=T[-10:].mean())

def fit_synthetic(V, Q, n_tags):
    "Parameters of `synthetic_vectors` whose statistics at the demo's size come closest to the demo's (a grid search)."
    want, best = stats(V, Q), (np.inf, None)
    for offset in (0.15, 0.25, 0.35, 0.5):
        for rank in (12, 20, 32, 48):
            for noise in (0.25, 0.35, 0.5, 0.7):
                p = dict(offset=offset, rank=rank, noise=noise)
                got = stats(synthetic_vectors(len(V), n_tags=n_tags, n_queries=10, **p).vectors, Q)
                err = sum((got[k] - want[k]) ** 2 for k in ('pair', 'nn', 'pca20'))
                if err < best[0]: best = (err, p)
    p, best = best[1], (np.inf, None)
    for qn in (0.6, 0.8, 1.0, 1.2, 1.5, 1.8, 2.2, 2.7, 3.3):
        syn = synthetic_vectors(len(V), n_tags=n_tags, n_queries=300, query_noise=qn, **p)
        got = stats(syn.vectors, syn.queries)
        err = sum((got[k] - want[k]) ** 2 for k in ('top1', 'top10'))
        if err < best[0]: best = (err, dict(p, query_noise=qn), got)
    return best[1], want, best[2]

def bench_demo(path, nq, table, notes):
    from imgsearch.text import load_vectors
    build_vector_index(path)  # the index stage, when the vector index is missing or stale
    t = time.time(); eng = Engine.load(path); notes.append(f'demo: Engine.load {time.time() - t:.1f} s ({eng!r})')
    rng = np.random.default_rng(0)
    tags = list(rng.choice(eng.index.tags, min(nq, len(eng.index.tags)), replace=False))
    kv = eng.kv
    words = [w for w in kv.index_to_key[300:6000] if w.isalpha() and w not in eng.index]
    words = list(rng.choice(words, 2 * nq, replace=False)); cal_words, words = words[nq:], words[:nq]
    n = eng.vi.index.ntotal
    for mode, qs in [('tag', tags), ('semantic', words), ('hybrid', tags), ('hybrid', words)]:
        ts = timed(lambda q: eng.search(q, k=20, mode=mode), qs)
        row(table, f'demo, {mode} ({"tags" if qs is tags else "words that are not tags"})', n, ts, '1 (exact)')
    ids = list(rng.choice(eng.coll.ids, nq, replace=False))
    row(table, 'demo, similar(id)', n, timed(lambda i: eng.similar(i, k=20), ids), '1 (exact)')
    row(table, 'demo, search_image(path)', n, timed(lambda i: eng.search_image(eng.image_path(i), k=20), ids[:30], warm=2), '1 (exact)', 'decode + backbone on CPU')
    # the IVF calibration on real vectors, as the engine does it (tags, other words, images), measured on fresh words
    V = np.asarray(eng.vi.vectors)
    tq = np.stack([eng._query(t)[0] for t in eng.index.tags if t in eng._tag_vec])
    cq, wq = (np.stack([eng._query(w)[0] for w in ws]) for ws in (cal_words, words))
    iq = V[rng.choice(np.flatnonzero(np.asarray(eng.vi.valid)), 100, replace=False)]
    ivf = VectorIndex.build(V, kind='ivf', queries=[tq, cq, iq])
    rec = recall_at(ivf, wq)
    ts = timed(lambda q: rank(ivf, q, None, 'semantic'), list(wq))
    row(table, 'demo vectors, forced IVF, semantic', n, ts, f'{rec:.3f}', f'nlist {ivf.info["nlist"]}, nprobe {ivf.info["nprobe"]}')
    return V, wq, len(eng.index.tags)

def bench_synthetic(n, nq, table, notes, isotropic, params, kinds):
    name = 'isotropic' if isotropic else 'clustered'
    t = time.time(); syn = synthetic_vectors(n, n_tags=20_000, n_queries=2 * nq, isotropic=isotropic, seed=0, **params)
    notes.append(f'{name}: generated {n:,} vectors in {time.time() - t:.0f} s' + ('' if isotropic else f' with {params}'))
    Q, qt = syn.queries[nq:], syn.query_tags[nq:]
    order = np.argsort(syn.tag, kind='stable'); bounds = np.searchsorted(syn.tag[order], np.arange(20_001))
    posting = lambda t: np.sort(order[bounds[t]:bounds[t + 1]])
    P = [posting(t) for t in qt]
    sizes = np.array([len(p) for p in P])
    big = np.argsort(-np.diff(bounds))[:20]
    PB = [posting(t) for t in big]
    QB = np.stack([Q[i % len(Q)] for i in range(len(big))])
    for kind in kinds:  # each kind over the same vectors and queries, side by side in one run
        t = time.time(); vi = VectorIndex.build(syn.vectors, kind=kind, queries=syn.queries[:nq]); build = time.time() - t
        folder = Path(tempfile.mkdtemp(prefix='imgsearch-bench-'))
        try:
            t = time.time(); vi.save(folder); saved = time.time() - t
            t = time.time(); vi = VectorIndex.load(folder, vi.info); loaded = time.time() - t
            notes.append(f'{name}, {kind}: built in {build:.0f} s ({vi.info}), saved in {saved:.0f} s, memory-mapped back in {loaded:.2f} s')
            rec = recall_at(vi, Q)
            info = (f'm {vi.info["m"]}, efSearch {vi.info["ef_search"]}' if kind == 'hnsw' else
                    f'nlist {vi.info.get("nlist")}, nprobe {vi.info.get("nprobe")}' + (f', rerank x{vi.rerank}' if kind == 'ivfpq' else ''))
            label = f'synthetic {name}, {kind}'
            row(table, f'{label}, tag (random tags: median {int(np.median(sizes))} images)', vi.n, timed(lambda i: rank(vi, Q[i], P[i], 'tag'), range(len(Q))), '1 (exact)')
            row(table, f'{label}, tag (20 largest tags: {int(np.diff(bounds).max()):,} to {len(PB[-1]):,} images)', vi.n,
                timed(lambda i: rank(vi, QB[i], PB[i], 'tag'), range(len(big)), warm=2), f'{recall_at(vi, QB, rows=PB):.3f}',
                'rows gathered, scored exactly' if kind == 'hnsw' else 'bitmap-filtered IVF')
            row(table, f'{label}, semantic', vi.n, timed(lambda i: rank(vi, Q[i], None, 'semantic'), range(len(Q))), f'{rec:.3f}', info)
            row(table, f'{label}, hybrid', vi.n, timed(lambda i: rank(vi, Q[i], P[i], 'hybrid'), range(len(Q))), f'{rec:.3f}', f'top {MAX_RESULTS} of each, merged')
            near = [vi.search(q, MAX_RESULTS) for q in Q]  # what the index stage stores for each tag (`save_tag_tops`)
            row(table, f'{label}, hybrid, semantic part stored', vi.n, timed(lambda i: rank(vi, Q[i], P[i], 'hybrid', nearest=near[i]), range(len(Q))), f'{rec:.3f}', 'a tag of the collection: its list read')
        finally: shutil.rmtree(folder, ignore_errors=True)
    ts = timed(lambda i: vi.exact(Q[i][None], 100), range(10), warm=1)
    row(table, f'synthetic {name}, exact scan (for reference)', vi.n, ts, '1', 'brute force, BLAS')

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--demo', default='runs/demo', help="built and trained collection ('' to skip)")
    ap.add_argument('--n', type=int, default=1_700_000, help='synthetic vectors')
    ap.add_argument('--queries', type=int, default=300, help='timed queries per row')
    ap.add_argument('--no-isotropic', action='store_true', help='skip the isotropic worst case')
    ap.add_argument('--kinds', default='hnsw,ivf', help='vector index kinds compared on the synthetic vectors')
    a = ap.parse_args()
    table = ['| query | vectors | queries | p50 ms | p99 ms | recall@100 | notes |', '|---|---|---|---|---|---|---|']
    notes, params = [f'machine: {os.cpu_count()} CPUs, load average at start {os.getloadavg()[0]:.2f}'], {}
    if a.demo and Layout(a.demo).model().is_file():
        V, wq, n_tags = bench_demo(a.demo, a.queries, table, notes)
        t = time.time(); params, want, got = fit_synthetic(V[np.linalg.norm(V, axis=1) > 0], wq, n_tags)
        notes.append(f'synthetic shape fitted to the demo in {time.time() - t:.0f} s; demo vs synthetic at the demo\'s size: ' +
                     ', '.join(f'{k} {want[k]:.2f} vs {got[k]:.2f}' for k in want))
    elif a.demo: notes.append(f'demo skipped: {a.demo}/model/model.pt not found; synthetic shape: the defaults of synthetic_vectors')
    bench_synthetic(a.n, a.queries, table, notes, False, params, a.kinds.split(","))
    if not a.no_isotropic: bench_synthetic(a.n, a.queries, table, notes, True, {}, a.kinds.split(","))
    notes.append(f'load average at end {os.getloadavg()[0]:.2f}')
    print('\n'.join(table)); print(); print('\n'.join(f'- {n}' for n in notes))

if __name__ == '__main__': main()
