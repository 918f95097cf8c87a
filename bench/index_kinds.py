"""Which FAISS index serves a trained collection's queries fastest at the recall we ask: run by hand, not a test.

Text queries sit far from the images in the learned space (the modality gap): an IVF whose cells are k-means
centroids of the images must scan a large share of its cells before it finds a word's nearest images. This script
takes a collection that was built, trained and projected (`model/index/vectors.npy`, for instance one that
`bench/scale.py --keep` left behind at 1.7 million images) and compares, in one run and on the same queries:

- `flat`: exact search (FAISS `IndexFlatIP`), the reference and the latency to beat;
- `ivf`: today's IVF-Flat, centroids from the images;
- `ivf-mixed`: IVF-Flat whose centroids are trained on the images *and* on text queries (the collection's tags and
  other words through the text tower), so that some cells sit where the queries are; `ivf-text`: centroids from the
  text vectors alone, so that each image lands in the cell of the words that score it highest;
- `hnsw`: a graph (HNSW, M=32), its `efSearch` calibrated;
- `anchors-A-R`: for text queries only (images would keep an IVF): `A` anchors, k-means centres of the text
  vectors, each with its exact top-`R` images computed at index time; a query re-scores the union of the lists of its
  `m` nearest anchors exactly (`m` calibrated), like an IVF whose lists are chosen by the queries instead of the data;
- `ivfpq`: IVF with 4-bit PQ fast-scan codes (32 bytes a vector) and the top candidates re-ranked exactly
  (`IndexRefineFlat`), `nprobe` and the re-ranking depth calibrated together; also with mixed or text centroids.

Queries come in three groups: tags of the collection, words that are not tags (open vocabulary) and images of the
collection. Each group is split into calibration queries and test queries (different words, different images).
For each index kind the cheapest setting whose recall@100 against exact search reaches `--recall` on every
calibration group is chosen; then the test queries are timed one at a time on one thread, and their recall is
measured. Prints a markdown table and writes JSON (`--out`).

    .venv/bin/python bench/index_kinds.py /tmp/imgsearch-scale-1700000-XXXX --out /tmp/index_kinds.json
    .venv/bin/python bench/index_kinds.py runs/demo --kinds flat,hnsw,ivf      # small: every kind works, flat wins
"""
import argparse, json, os, sys, time
from pathlib import Path
import numpy as np, faiss, torch

K = 100

def queries(path, n_per_group, seed):
    "Query vectors [m, d] in groups (tags, other words, images), calibration and test halves drawn without overlap."
    from imgsearch.data import Collection
    from imgsearch.text import load_text_features
    from imgsearch.model import load_matcher
    from imgsearch.layout import Layout
    from imgsearch.project import word_vectors
    L = Layout(path); coll = Collection.load(L.collection)
    vecs = np.load(L.index.vectors, mmap_mode='r'); valid = np.load(L.index.valid)
    model, _ = load_matcher(L.model(), 'cpu')
    tags, tv, found = load_text_features(L.text, coll)
    kv, _ = word_vectors(L, coll)
    rng, tagset = np.random.default_rng(seed), set(tags)
    words = [w for w in kv.index_to_key[200:40_000] if w.isalpha() and w not in tagset]
    pick = lambda n, m: rng.permutation(n)[:m]
    with torch.inference_mode():
        emb = lambda x: model.embed_texts(torch.as_tensor(np.asarray(x, np.float32))).float().numpy()
        tq = emb(tv[np.flatnonzero(found)[pick(int(found.sum()), 2 * n_per_group)]])
        wq = emb(np.stack([kv[words[i]] for i in pick(len(words), 2 * n_per_group)]))
    iq = np.asarray(vecs[np.sort(np.flatnonzero(valid)[pick(int(valid.sum()), 2 * n_per_group)])], np.float32)
    # the text tower's view of the vocabulary, for centroids that sit where text queries are
    voc = [w for w in kv.index_to_key[:100_000] if w.isalpha()]
    with torch.inference_mode(): text_train = np.concatenate([emb(tv[found])] + [emb(np.stack([kv[w] for w in voc[i:i + 20_000]])) for i in range(0, len(voc), 20_000)])
    groups = {'tags': tq, 'words': wq, 'images': iq}
    return vecs, valid, {g: (q[:n_per_group], q[n_per_group:]) for g, q in groups.items()}, text_train

def exact_top(X, valid, Q, k=K, chunk=200_000, batch=512):
    "Exact top-k rows of each query by inner product over the valid rows (queries in batches: bounded memory)."
    if len(Q) > batch: return np.concatenate([exact_top(X, valid, Q[i:i + batch], k, chunk, batch) for i in range(0, len(Q), batch)])
    D, I = np.full((len(Q), k), -np.inf, np.float32), np.full((len(Q), k), -1, np.int64)
    for lo in range(0, len(X), chunk):
        s = Q @ np.asarray(X[lo:lo + chunk], np.float32).T
        s[:, ~valid[lo:lo + chunk]] = -np.inf
        p = np.argpartition(-s, k - 1, 1)[:, :k]
        D2, I2 = np.concatenate([D, np.take_along_axis(s, p, 1)], 1), np.concatenate([I, p + lo], 1)
        top = np.argsort(-D2, 1)[:, :k]; D, I = np.take_along_axis(D2, top, 1), np.take_along_axis(I2, top, 1)
    return I

def recall(I, truth): return float(np.mean([len(np.intersect1d(a, b)) / truth.shape[1] for a, b in zip(I, truth)]))

def build(kind, X, valid, text_train, seed=0):
    "A FAISS index of `kind` over the valid rows (ids = rows), and its parameter ladder [(label, setter)]."
    rows = np.flatnonzero(valid); d = X.shape[1]; n = len(rows)
    rng = np.random.default_rng(seed)
    sample = np.ascontiguousarray(X[np.sort(rng.choice(rows, min(n, 200_000), replace=False))], np.float32)
    nlist = max(1, min(int(2 ** round(np.log2(4 * np.sqrt(n)))), n // 39))
    if kind.startswith('anchors'):  # anchors-A-R
        _, A, R = kind.split('-'); ix = Anchors(X, valid, text_train, int(A), int(R), seed)
        return ix, None, [(f'{m} anchors', (lambda m: lambda: setattr(ix, 'm', m))(m)) for m in (1, 2, 3, 4, 6, 8, 12, 16, 24, 32)], dict(anchors=int(A), list=int(R))
    base, _, centres = kind.partition('-')  # centroids from the images (''), images and text ('mixed') or text alone ('text')
    text = text_train[rng.permutation(len(text_train))[:len(sample)]]
    if centres == 'mixed': sample = np.concatenate([sample, text[:len(sample) // 2]])
    if centres == 'text': sample, nlist = text, min(nlist, len(text) // 39)
    if base == 'flat': ix = faiss.IndexIDMap2(faiss.IndexFlatIP(d))
    elif base == 'hnsw':
        ix = faiss.IndexIDMap2(faiss.IndexHNSWFlat(d, 32, faiss.METRIC_INNER_PRODUCT)); faiss.downcast_index(ix.index).hnsw.efConstruction = 40
    elif base == 'ivf': ix = faiss.IndexIVFFlat(faiss.IndexFlatIP(d), d, nlist, faiss.METRIC_INNER_PRODUCT)
    elif base == 'ivfpq':
        ix = faiss.index_factory(d, f'IVF{nlist},PQ{d // 2}x4fs,RFlat', faiss.METRIC_INNER_PRODUCT)
    else: raise ValueError(kind)
    if not ix.is_trained: ix.train(sample)
    add = ix.add_with_ids if base in ('flat', 'hnsw', 'ivf') else None
    for lo in range(0, n, 100_000):
        x = np.ascontiguousarray(X[rows[lo:lo + 100_000]], np.float32)
        if add: add(x, rows[lo:lo + 100_000])
        else: ix.add(x)  # IndexRefineFlat has no add_with_ids: ids are positions, mapped back through `rows`
    ids = None if add else rows
    steps = sorted({int(round(1.5 ** i)) for i in range(40) if 1.5 ** i < nlist} | {nlist})
    if base == 'flat': ladder = [('-', lambda: None)]
    elif base == 'hnsw':
        h = faiss.downcast_index(ix.index).hnsw
        ladder = [(f'efSearch {e}', (lambda e: lambda: setattr(h, 'efSearch', e))(e)) for e in (16, 32, 64, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048, 3072, 4096)]
    elif base == 'ivf': ladder = [(f'nprobe {p}', (lambda p: lambda: setattr(ix, 'nprobe', p))(p)) for p in steps]
    else:
        ivf, ref = faiss.extract_index_ivf(ix), faiss.downcast_index(ix)
        def both(p, f): ivf.nprobe = p; ref.k_factor = f
        ladder = [(f'nprobe {p}, rerank x{f}', (lambda p, f: lambda: both(p, f))(p, f)) for p in steps for f in (2, 4, 8, 16, 32)]
    return ix, ids, ladder, dict(nlist=nlist if base.startswith('ivf') else None, centroids=centres or 'images')

class Anchors:
    "Text queries routed through anchors: k-means centres of text vectors, each with its exact top-`R` images; a query re-scores the union of its `m` nearest anchors' lists."
    def __init__(self, X, valid, text, n_anchors, R, seed=0):
        d = X.shape[1]
        km = faiss.Kmeans(d, n_anchors, niter=20, seed=seed, spherical=True, max_points_per_centroid=64)
        km.train(np.ascontiguousarray(text[np.random.default_rng(seed).permutation(len(text))[:64 * n_anchors]], np.float32))
        self.A, self.X, self.m = km.centroids.copy(), X, 4
        self.lists = exact_top(X, valid, self.A, R)  # [A, R] rows
    def search(self, q, k):
        a = np.argpartition(-(self.A @ q[0]), self.m - 1)[:self.m]
        rows = np.unique(self.lists[a].ravel()); rows = rows[rows >= 0]
        s = np.asarray(self.X[rows], np.float32) @ q[0]
        top = np.argpartition(-s, min(k, len(s)) - 1)[:k]; top = top[np.argsort(-s[top])]
        return s[None, top], rows[None, top]

def run(ix, ids, Q, k=K):
    "Top-k rows of each query, one query at a time, and each query's seconds."
    I, lat = np.empty((len(Q), k), np.int64), []
    for i in range(len(Q)):
        t = time.perf_counter(); _, r = ix.search(Q[i:i + 1], k); lat.append(time.perf_counter() - t)
        I[i] = r[0] if ids is None else np.where(r[0] >= 0, ids[np.clip(r[0], 0, None)], -1)
    return I, np.array(lat)

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('path', help='a built, trained and projected collection folder')
    ap.add_argument('--kinds', default='flat,ivf,ivf-mixed,ivf-text,hnsw,ivfpq,ivfpq-text', help='index kinds to compare')
    ap.add_argument('--queries', type=int, default=200, help='calibration and test queries per group (each)')
    ap.add_argument('--recall', type=float, default=0.95, help='recall@100 every calibration group must reach')
    ap.add_argument('--build-threads', type=int, default=os.cpu_count(), help='threads for building (search: 1)')
    ap.add_argument('--out', default=None, help='JSON of the results')
    a = ap.parse_args()
    path = Path(a.path)
    t0 = time.time()
    X, valid, groups, text_train = queries(path, a.queries, seed=1)
    print(f'{int(valid.sum()):,} vectors of d={X.shape[1]}, {len(text_train):,} text vectors for mixed centroids, queries ready in {time.time() - t0:.0f} s', flush=True)
    truth = {g: (exact_top(X, valid, c), exact_top(X, valid, t)) for g, (c, t) in groups.items()}
    out = dict(path=str(path), vectors=int(valid.sum()), dim=int(X.shape[1]), recall_target=a.recall, queries=a.queries, kinds={})
    for kind in a.kinds.split(','):
        faiss.omp_set_num_threads(a.build_threads); t = time.time()
        ix, ids, ladder, info = build(kind, X, valid, text_train)
        info['build_s'] = round(time.time() - t, 1)
        faiss.omp_set_num_threads(1)
        chosen = None
        for label, setter in ladder:
            setter()
            got = {g: recall(run(ix, ids, c)[0], truth[g][0]) for g, (c, _) in groups.items() if g != 'images' or not kind.startswith('anchors')}
            if min(got.values()) >= a.recall: chosen = label; break
        info['setting'] = chosen or f'{label} (recall not reached)'
        info['groups'] = {}
        for g, (_, test) in groups.items():
            I, lat = run(ix, ids, test)
            info['groups'][g] = dict(recall=round(recall(I, truth[g][1]), 4), p50_ms=round(float(np.percentile(lat, 50)) * 1e3, 3), p99_ms=round(float(np.percentile(lat, 99)) * 1e3, 3))
        out['kinds'][kind] = info
        print(kind, json.dumps(info), flush=True)
        del ix
    print(f'\n{out["vectors"]:,} vectors, recall@{K} against exact search (test queries), latency of one query on one thread\n')
    print('| index | setting | build (s) | ' + ' | '.join(f'{g}: recall, p50 / p99 ms' for g in groups) + ' |')
    print('|---|---|---|' + '---|' * len(groups))
    for kind, info in out['kinds'].items():
        print(f'| {kind} | {info["setting"]} | {info["build_s"]} | ' + ' | '.join(f'{v["recall"]:.3f}, {v["p50_ms"]:.2f} / {v["p99_ms"]:.2f}' for v in info['groups'].values()) + ' |')
    if a.out: Path(a.out).write_text(json.dumps(out, indent=1))

if __name__ == '__main__': main()
