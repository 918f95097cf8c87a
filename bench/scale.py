"""Scale simulation: build, train, project, index, search and serve synthetic collections of growing size.

Run by hand, not a test. For each size (by default 10k, 100k and 1.7 million images: the seed's collection had 1.7
million) it writes a complete collection folder in the documented layout with the library's own stages, only
without pixels (features are drawn, not computed; every image file is a link to one small JPEG, made before the
server starts, since the server leaves out hits whose file is gone), and measures every stage on it:

- **collection**: image ids and 1 to 3 tags per image drawn from a Zipf law (p ~ 1/rank) over a vocabulary of 50,000
  GloVe words (frequent words are frequent tags; the demo's top tag holds 9.5% of its postings, the law gives 8.8%);
- **inverted index**: `build_tag_index` and `TagIndex.save` (`tag2picid.json`); text features with `build_text_features`;
- **image features**: synthetic 1280-d rows (EfficientNet-Lite0's size) written in the image stage's shard format:
  each tag has a prototype, half of it a linear image of the tag's word vector (so the text tower has something to
  learn and open-vocabulary queries land somewhere sensible), and an image is the mean of its tags' prototypes plus
  noise. Stored as float32, or float16 from `--fp16-from` images up (1.7M x 1280 in float32 would be 8.1 GiB);
- **training**: `load_match_data` then `fit` for one epoch with the default `TrainConfig` (VSE++ hinge, batches of
  256); the validation share is capped at about `--val-images` images (the library's validation is a dense
  images x tags matrix: at 1.7M with its default share it would need about 45 GB; see nbs/11_scale.ipynb);
- **projection and vector index**: `imgsearch.project.build_vector_index`, the index stage (the image tower over every shard, then
  `VectorIndex.build` with calibrated `nprobe`, `save` and the contiguous blocks of large tags), with the tower and
  the build timed inside it;
- **queries**: `Engine.load`, then `Engine.search` end to end (k=20) for tags drawn by frequency (what users ask) and
  uniformly, open-vocabulary words (GloVe words that are not tags) and hybrid queries on tags drawn by frequency;
- **server**: bench/serve.py's loopback load (gunicorn, `--workers` processes sharing the memory-mapped
  vectors) for tag, semantic, hybrid, similar and open-vocabulary requests, each client opening a new connection per
  request, then keeping one open; memory of the server as the sum of its processes'
  proportional set sizes (PSS: a page shared by n processes counts 1/n in each).

Each size runs in its own process, so peak RSS (`getrusage`) is that size's own; a sampling thread also records the
peak RSS of each stage. Prints a markdown table of the growth and writes the JSON (`--out`).

    .venv/bin/python bench/scale.py                                  # 10k, 100k, 1.7M: about 65 minutes on 2 cores
    .venv/bin/python bench/scale.py --sizes 10000,100000 --out /tmp/scale.json   # a quick run
    .venv/bin/python bench/scale.py --table nbs/scale_results.json               # the table of an earlier run
    .venv/bin/python bench/scale.py --reuse /tmp/imgsearch-scale-1700000-XXXX    # index, queries and server again on a kept collection
"""
import argparse, inspect, json, os, resource, shutil, subprocess, sys, tempfile, threading, time
from contextlib import contextmanager
from pathlib import Path
import numpy as np

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
import serve as serve_bench  # bench/serve.py
from fixtures import timed  # bench/fixtures.py

GiB, MiB = 2**30, 2**20

# ---------------------------------------------------------------- measuring

def rss():
    "Resident set size of this process in bytes."
    with open('/proc/self/statm') as f: return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')

class Stages:
    "Wall and CPU seconds, peak RSS and the load average after each named stage; a thread samples RSS every 20 ms."
    def __init__(self):
        self.out, self._peak, self._stop = {}, 0, threading.Event()
        threading.Thread(target=self._sample, daemon=True).start()
    def _sample(self):
        while not self._stop.wait(0.02): self._peak = max(self._peak, rss())
    @contextmanager
    def __call__(self, name):
        self._peak = rss(); t, c = time.perf_counter(), time.process_time()
        print(f'  {name} ...', file=sys.stderr, flush=True)
        yield
        self.out[name] = dict(seconds=round(time.perf_counter() - t, 2), cpu_s=round(time.process_time() - c, 2),
                              peak_rss_gib=round(max(self._peak, rss()) / GiB, 2), load=round(os.getloadavg()[0], 1))
        print(f'  {name}: {self.out[name]}', file=sys.stderr, flush=True)

@contextmanager
def clocked(owner, name, acc):
    "Add the seconds of every call of `owner.name` (a function, method or classmethod) inside the block to `acc[name]`; the last result to `acc[name + '_result']`."
    orig, bound = owner.__dict__[name], getattr(owner, name)
    f = bound if inspect.ismethod(bound) else orig  # a class method (bound to the class) or a plain function
    def wrapper(*a, **k):
        t = time.perf_counter()
        try: acc[name + '_result'] = r = f(*a, **k); return r
        finally: acc[name] = acc.get(name, 0.) + time.perf_counter() - t
    setattr(owner, name, staticmethod(wrapper) if inspect.ismethod(bound) else wrapper)
    try: yield acc
    finally: setattr(owner, name, orig)

def size_of(*paths):
    "Bytes of files and folders."
    tot = 0
    for p in map(Path, paths):
        tot += sum(f.stat().st_size for f in p.rglob('*') if f.is_file()) if p.is_dir() else p.stat().st_size
    return tot

def pss(pgid, parts=None):
    """Sum of PSS and largest RSS (bytes) over the processes of group `pgid`, and how many there are; `parts`, a dict,
    gets the PSS split into anonymous memory (each process's own heap, and pages copied after the fork) and
    file-backed memory (memory-mapped files and libraries, shared)."""
    tot, big, n = 0, 0, 0
    for d in Path('/proc').iterdir():
        if not d.name.isdigit(): continue
        try:
            if int((d/'stat').read_text().rsplit(')', 1)[1].split()[2]) != pgid: continue
            roll = dict(l.split(':', 1) for l in (d/'smaps_rollup').read_text().splitlines()[1:])
        except (OSError, ValueError, IndexError): continue
        tot += int(roll['Pss'].split()[0]) * 1024; big = max(big, int(roll['Rss'].split()[0]) * 1024); n += 1
        if parts is not None:
            for k in ('Pss_Anon', 'Pss_File'):
                if k in roll: parts[k] = parts.get(k, 0) + int(roll[k].split()[0]) * 1024
    return tot, big, n

# ---------------------------------------------------------------- the synthetic collection

def vocabulary(kv, n_tags, n_open):
    "Tag words (GloVe's frequency order, which makes the Zipf ranks) and open-vocabulary query words after them."
    from imgsearch.data import normalise_tag
    words = [w for w in kv.index_to_key[150:] if w.isalpha() and w.isascii() and len(w) > 2 and normalise_tag(w) == w]
    return words[:n_tags], words[n_tags:n_tags + n_open]

def synthetic_collection(n, words, root, seed=0):
    "A `Collection` of `n` images under `root` (`link_pixels` makes the files), 1 to 3 tags each drawn by Zipf's law; and the [n, 3] tag draws and counts."
    from imgsearch.data import Collection, Item
    rng = np.random.default_rng(seed)
    p = 1 / np.arange(1, len(words) + 1); p /= p.sum()
    draws, k = rng.choice(len(words), size=(n, 3), p=p), rng.integers(1, 4, n)
    items = [Item(f'syn{i:07d}', f'{root}/{i // 1000:04d}/{i:07d}.jpg', tuple(dict.fromkeys(words[j] for j in d[:c])))
             for i, (d, c) in enumerate(zip(draws.tolist(), k.tolist()))]
    return Collection(items, name=f'synthetic-{n}'), draws, k

def link_pixels(L):
    """Make every image file of a synthetic collection a symbolic link to one small JPEG (made once beside the
    collection), so that the server finds the files of the hits it returns; existing files are left alone."""
    from PIL import Image
    src = L.folder/'pixels.jpg'
    if not src.exists(): Image.new('RGB', (64, 48), (90, 140, 200)).save(src)
    made, dirs = 0, set()
    with open(L.collection, encoding='utf-8') as f:
        for line in f:
            p = Path(json.loads(line)['path'])
            if p.parent not in dirs: p.parent.mkdir(parents=True, exist_ok=True); dirs.add(p.parent)
            try: os.symlink(src, p); made += 1
            except FileExistsError: pass
    return made

def write_features(out, coll, draws, k, tag_vecs, dim, dtype, seed=0, shard_size=1024):
    "Synthetic image features in the image stage's shard format and manifest (as `embed_images` writes them)."
    from imgsearch.files import save_json
    from imgsearch.layout import ImageFiles
    from imgsearch.shards import write_shard
    rng = np.random.default_rng(seed + 1)
    out.mkdir(parents=True, exist_ok=True)
    W = rng.standard_normal((tag_vecs.shape[1], dim), dtype=np.float32)
    lin = tag_vecs.astype(np.float32) @ W; lin /= lin.std()
    protos = np.concatenate([0.7 * lin + 0.7 * rng.standard_normal(lin.shape, dtype=np.float32), np.zeros((1, dim), np.float32)])
    pad = np.where(np.arange(3)[None] < k[:, None], draws, len(protos) - 1)
    pool = rng.standard_normal((2**16, dim), dtype=np.float32) / np.sqrt(2)  # noise: sums of two rows of a pool (fresh draws cost 10x more)
    n, chunk = len(coll), 16 * shard_size
    for lo in range(0, n, chunk):
        m, at = min(chunk, n - lo), np.arange(min(chunk, n - lo))
        f = protos[pad[lo:lo + m, 0]]
        for j in (1, 2): f += protos[pad[lo:lo + m, j]]
        f /= k[lo:lo + m, None]
        for _ in range(2): f += pool[(at * (2 * rng.integers(2**15) + 1) + rng.integers(2**16)) % 2**16]  # odd stride: distinct rows
        f = f.astype(dtype)
        for s in range(0, len(f), shard_size): write_shard(out, (lo + s) // shard_size, f[s:s + shard_size], [])
    save_json(dict(stage='image', backbone='synthetic', weights_sha256=None, preprocessing=None, dim=dim, dtype=np.dtype(dtype).name,
                   rows=n, shard_size=shard_size, collection_fingerprint=coll.fingerprint(), n_shards=-(-n // shard_size),
                   normalised=False, complete=True, skipped=0), ImageFiles(out).manifest)

# ---------------------------------------------------------------- one size

def run_size(n, a, folder):
    "Build, train, project, search and serve a synthetic collection of `n` images in `folder` (`--reuse`: project onwards); the measurements."
    from imgsearch.text import load_vectors
    from imgsearch.model import MatchNet
    from imgsearch.layout import Layout
    from imgsearch.vectors import VectorIndex
    from imgsearch.project import build_vector_index
    from imgsearch.search import Engine
    from imgsearch.files import load_json
    L = Layout(folder)
    st, res = Stages(), dict(images=n, load_before=os.getloadavg()[0])
    kv = load_vectors('glove-6b-50d')
    words, open_words = vocabulary(kv, a.tags, 400)

    if a.serve_only:  # the server alone, on a kept collection as it is
        with st('image files linked'): res['linked'] = link_pixels(L)
        with st('server'): res['server'] = serve_loopback(folder, a, open_words)
        res['stages'], res['reused'], res['serve_only'] = st.out, str(folder), True
        return res
    if a.reuse:  # a collection kept by an earlier run: its index stage and all that follows again, with this code
        L.index.manifest.unlink(missing_ok=True); res['reused'] = str(folder)
    else: res.update(build_and_train(n, a, L, st, kv, words))

    acc = {}
    with st('project + vector index'), clocked(MatchNet, 'embed_images', acc), clocked(VectorIndex, 'build', acc), \
         clocked(VectorIndex, 'save', acc):
        build_vector_index(L, device='cpu')
    out = L.index; man = load_json(out.manifest)
    res.update(project_s=man['seconds'], projection_s=acc['embed_images'], index_build_s=acc['build'], index_save_s=acc['save'],
               tag_blocks=man['tag_blocks'], tag_blocks_mib=size_of(out.blocks) / MiB, index=man['index'], neighbours=man['neighbours'],
               vectors_mib=size_of(out.vectors) / MiB, index_faiss_mib=size_of(out.faiss) / MiB, near_tags=man.get('near_tags'),
               tag_tops=man.get('tag_tops'))

    r0 = rss()
    with st('Engine.load'):
        eng = Engine.load(folder, device='cpu')
    res['engine_rss_gib'] = (rss() - r0) / GiB
    rng = np.random.default_rng(0)
    counts = np.array([eng.index.count(t) for t in eng.index.tags], float)
    by_freq = list(rng.choice(eng.index.tags, a.queries, p=counts / counts.sum()))
    uniform = list(rng.choice(eng.index.tags, a.queries))
    sem = list(rng.choice([w for w in open_words if w not in eng.index], a.queries))
    ids = [eng.coll[i].id for i in rng.choice(np.flatnonzero(np.asarray(eng.vi.valid)), a.queries, replace=False)]
    res['queries'] = {}
    with st('queries'):
        for name, mode, qs in [('tag (by frequency)', 'tag', by_freq), ('tag (uniform)', 'tag', uniform),
                               ('open vocabulary', 'semantic', sem), ('hybrid (by frequency)', 'hybrid', by_freq), ('similar (images)', None, ids)]:
            ts = timed((lambda q: eng.similar(q, k=20)) if mode is None else (lambda q: eng.search(q, k=20, mode=mode)), qs)
            res['queries'][name] = dict(n=len(ts), p50_ms=float(np.median(ts) * 1e3), p99_ms=float(np.percentile(ts, 99) * 1e3))
        near = eng._near  # the words' nearest tags' lists (`NearTags`), set aside: words search the vector index
        eng._near = None
        ts = timed(lambda q: eng.search(q, k=20, mode='semantic'), sem)
        res['queries']['open vocabulary, through the vector index'] = dict(n=len(ts), p50_ms=float(np.median(ts) * 1e3), p99_ms=float(np.percentile(ts, 99) * 1e3))
        eng._near = near
        stored = eng._ranks  # the large tags' rankings the index stage stored; set aside, each tag query scores its block again
        for name, ranks in [('tag (by frequency), warm: stored ranking', stored), ('tag (by frequency), warm: ranked at query time', {})]:
            eng._ranks = ranks
            for q in by_freq: eng.search(q, k=20, mode='tag')  # warm: both read pages already in memory, so compute is compared
            ts = timed(lambda q: eng.search(q, k=20, mode='tag'), by_freq)
            res['queries'][name] = dict(n=len(ts), p50_ms=float(np.median(ts) * 1e3), p99_ms=float(np.percentile(ts, 99) * 1e3))
        eng._ranks = stored
    with st('recall against exact search'):
        res['recall_at_100'] = recall_groups(eng, by_freq, sem, ids)
        eng._near = None; res['recall_at_100']['words, through the vector index'] = recall_groups(eng, [], sem, [])['words']; eng._near = near
    res['tag_ranks'] = man.get('tag_ranks')
    res['median_tag_images'] = {'by frequency': int(np.median([eng.index.count(t) for t in by_freq])),
                                'uniform': int(np.median([eng.index.count(t) for t in uniform]))}
    del eng
    res['peak_rss_gib'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / GiB  # before the server: this process only

    if n <= a.serve_max:
        with st('image files linked'): res['linked'] = link_pixels(L)  # the server drops hits whose file is gone
        with st('server'):
            res['server'] = serve_loopback(folder, a, open_words)
    res['stages'], res['load_after'] = st.out, os.getloadavg()[0]
    return res

def recall_groups(eng, tags, words, ids, k=100):
    "Recall@k against exact search of the ranked lists the engine's first pages come from: tags (their semantic part), other words, images."
    out = {}
    for name, qs in (('tags', tags), ('words', words), ('images', ids)):
        if not len(qs): continue
        if name == 'images':
            V, got = np.asarray(eng.vi.vectors[[eng.row(i) for i in qs]]), [[eng.row(h.id) for h in eng.similar(i, k=k, min_score=-1).hits] for i in qs]
        else: V, got = np.stack([eng._query(q)[0] for q in qs]), [[eng.row(h.id) for h in eng.search(q, k=k, mode='semantic', min_score=-1).hits] for q in qs]
        truth = eng.vi.exact(V, k + 1)[1]
        if name == 'images': truth = [t[t != eng.row(i)][:k] for t, i in zip(truth, qs)]  # the image itself is left out
        else: truth = [t[:k] for t in truth]
        out[name] = float(np.mean([len(np.intersect1d(g, t)) / len(t) for g, t in zip(got, truth)]))
    return out

def build_and_train(n, a, L, st, kv, words):
    "The synthetic collection, its tag index, text and image features, and one epoch of training: the measurements."
    import torch, imgsearch.train as train_mod
    from imgsearch.tagindex import build_tag_index
    from imgsearch.text import build_text_features
    from imgsearch.train import TrainConfig, load_match_data, fit
    from imgsearch.model import save_matcher
    res = {}
    dtype = 'float16' if n >= a.fp16_from else 'float32'
    with st('collection'):
        coll, draws, k = synthetic_collection(n, words, L.folder/'images')
        coll.save(L.collection)
    with st('inverted index'):
        idx = build_tag_index(coll)
    with st('tag2picid.json'):
        idx.save(L)
    res.update(tags=idx.n_tags, postings=idx.n_postings, top_tag_images=idx.count(idx.tags[0]),
               tag2picid_mib=size_of(L.tag_index) / MiB, collection_jsonl_mib=size_of(L.collection) / MiB)
    with st('text features'):
        build_text_features(coll, L.text, 'glove-6b-50d', index=idx)
    with st('image features (synthetic, written)'):
        tv = np.stack([kv[w] for w in words])
        write_features(L.image.folder, coll, draws, k, tv, a.dim, dtype)
    res.update(feature_dim=a.dim, feature_dtype=dtype, image_features_gib=size_of(L.image) / GiB)
    del coll, idx, draws, k, tv

    with st('load_match_data'):
        data = load_match_data(L)
    n_train = int(((data.split == 'train') & data.valid).sum())
    cfg = TrainConfig(epochs=1, patience=0, val_frac=min(0.1, a.val_images / n_train))
    torch.set_num_threads(a.threads)
    acc = {}
    with st('train 1 epoch'), clocked(train_mod, 'validation_map', acc), clocked(train_mod, 'training_sets', acc):
        model, hist = fit(data, cfg, device='cpu', progress=False)
    pairs = acc['training_sets_result'][0]
    res.update(train_images=n_train, val_images=len(acc['training_sets_result'][1]), train_pairs=len(pairs),
               train_steps=-(-len(pairs) // cfg.batch_size), val_frac=cfg.val_frac, val_map=hist[0]['val_map'],
               epoch_s=hist[0]['seconds'], validation_s=acc['validation_map'], pairs_s=acc['training_sets'])
    res['train_s'] = res['epoch_s'] - res['validation_s']
    L.models.mkdir(exist_ok=True)
    save_matcher(model, L.model(), zero_shot_tags=model.zero_shot, history=hist, train=cfg.__dict__)
    return res

def serve_loopback(folder, a, open_words):
    "bench/serve.py's load on the folder: requests/s and latency per kind, start-up time and the server's memory."
    kinds = {k: v for k, v in serve_bench.workloads(folder, 20, open_words=open_words).items() if k != 'thumb'}  # every image is one file: no thumbnails
    port = serve_bench.free_port()
    p, started = serve_bench.start(folder, port, a.workers, dict(os.environ))
    try:
        for paths in kinds.values():
            for u in paths: serve_bench.fetch(port, u)
        hits = json.loads(serve_bench.fetch(port, kinds['tag'][0])[1])['results']
        if not hits: raise SystemExit(f'the server returned no hits for {kinds["tag"][0]}: are the image files there?')
        out = dict(workers=a.workers, clients=a.clients, start_s=started, load_before=os.getloadavg()[0])
        for keep, key in ((False, 'kinds'), (True, 'kinds_keepalive')):  # a new connection per request, then one kept open per client
            out[key] = {}
            for kind, paths in kinds.items():
                secs, lat, bad = serve_bench.load(port, paths, a.clients, a.requests, keepalive=keep)
                out[key][kind] = dict(requests=len(lat), errors=bad, rps=len(lat) / secs,
                                      p50_ms=float(np.percentile(lat, 50) * 1e3), p99_ms=float(np.percentile(lat, 99) * 1e3))
        parts = {}; tot, big, procs = pss(p.pid, parts)
        out.update(pss_gib=tot / GiB, largest_rss_gib=big / GiB, processes=procs, pss_anon_gib=parts.get('Pss_Anon', 0) / GiB,
                   pss_file_gib=parts.get('Pss_File', 0) / GiB)
    finally: serve_bench.stop(p)
    return out

# ---------------------------------------------------------------- the table

def fmt_n(n): return f'{n // 1000}k' if n < 10**6 else f'{n / 10**6:g}M'

def table(results):
    "Markdown table: one column per size, and the growth from the smallest to the largest."
    R = sorted(results, key=lambda r: r['images'])
    rows = []
    def add(what, get, fmt='{:.2f}', growth=True):
        vals = []
        for r in R:
            try: vals.append(get(r))
            except (KeyError, TypeError): vals.append(None)
        cells = [('n/a' if v is None else fmt.format(v)) for v in vals]
        g = f'×{vals[-1] / vals[0]:.0f}' if growth and len(vals) > 1 and None not in (vals[0], vals[-1]) and vals[0] > 0 else ''
        rows.append(f'| {what} | ' + ' | '.join(cells) + f' | {g} |')
    add('tags / postings', lambda r: f"{r['tags']:,} / {r['postings']:,}", '{}', False)
    add('images of the largest tag', lambda r: r['top_tag_images'], '{:,}')
    add('collection.jsonl (MiB)', lambda r: r['collection_jsonl_mib'], '{:.1f}')
    add('inverted index: build_tag_index (s)', lambda r: r['stages']['inverted index']['seconds'])
    add('tag2picid.json: write (s)', lambda r: r['stages']['tag2picid.json']['seconds'])
    add('tag2picid.json: size (MiB)', lambda r: r['tag2picid_mib'], '{:.1f}')
    add('image features on disk (GiB)', lambda r: r['image_features_gib'], '{:.2f}')
    add('image features dtype', lambda r: f"{r['feature_dtype']} ×{r['feature_dim']}", '{}', False)
    add('load_match_data (s)', lambda r: r['stages']['load_match_data']['seconds'], '{:.1f}')
    add('training pairs', lambda r: r['train_pairs'], '{:,}')
    add('training, 1 epoch without validation (s)', lambda r: r['train_s'], '{:.1f}')
    add('validation at the end of the epoch (s)', lambda r: r['validation_s'], '{:.1f}')
    add('validation images / mAP after the epoch', lambda r: f"{r['val_images']:,} / {r['val_map']:.3f}", '{}', False)
    add('build_vector_index: all of it (s)', lambda r: r['project_s'], '{:.1f}')
    add('build_vector_index: tag blocks (tags / rows, MiB)', lambda r: f"{r['tag_blocks']['tags']:,} / {r['tag_blocks']['rows']:,}, {r['tag_blocks_mib']:.0f}", '{}', False)
    add('build_vector_index: image tower over all rows (s)', lambda r: r['projection_s'], '{:.1f}')
    add('build_vector_index: VectorIndex.build (s)', lambda r: r['index_build_s'], '{:.1f}')
    add('vector index: kind', lambda r: r['index']['kind'] + ('' if r['index']['kind'] == 'flat' else f" m {r['index']['m']} efSearch {r['index']['ef_search']}" if r['index']['kind'] == 'hnsw' else
        f" nlist {r['index']['nlist']} nprobe {r['index']['nprobe']}" + (f" rerank x{r['index']['rerank']}" if 'rerank' in r['index'] else '')), '{}', False)
    add('vector index: recall@100 (tags, words, images)', lambda r: ', '.join(f'{x:.3f}' for x in r['index']['recall_at_100']) if r['index']['kind'] != 'flat' else 'exact', '{}', False)
    add('words that are no tags: nearest tags x list depth (recall@100 on calibration words, candidates)', lambda r: (
        f"{r['near_tags']['m']} x {r['near_tags']['depth']} ({r['near_tags']['recall']:.3f}, {r['near_tags']['candidates']:,.0f})" + ('' if r['near_tags']['use'] else ', not used')), '{}', False)
    add('build_vector_index: tag tops / near tags (s)', lambda r: f"{r['tag_tops']['seconds']:.1f} / {r['near_tags']['seconds']:.1f}", '{}', False)
    add('build_vector_index: neighbour table (s)', lambda r: r['neighbours']['seconds'], '{:.1f}')
    add('neighbour table: method (recall@10, cosine ratio)', lambda r: r['neighbours'].get('method', 'exact') + (f" nprobe {r['neighbours']['nprobe']} ({r['neighbours']['recall']:.3f}, {r['neighbours']['cosine_ratio']:.3f})" if r['neighbours'].get('method') == 'ivf' else ''), '{}', False)
    add('vector index: vectors.npy + index.faiss (MiB)', lambda r: r['vectors_mib'] + r['index_faiss_mib'], '{:.0f}')
    add('build_vector_index: peak RSS (GiB)', lambda r: r['stages']['project + vector index']['peak_rss_gib'])
    add('Engine.load (s)', lambda r: r['stages']['Engine.load']['seconds'], '{:.1f}')
    add('Engine.load: RSS added (GiB)', lambda r: r['engine_rss_gib'])
    for q in ('tag (by frequency)', 'tag (uniform)', 'open vocabulary', 'open vocabulary, through the vector index', 'hybrid (by frequency)',
              'similar (images)', 'tag (by frequency), warm: stored ranking', 'tag (by frequency), warm: ranked at query time'):  # n/a: runs before a row was measured
        add(f'query p50 / p99 (ms): {q}', lambda r, q=q: f"{r['queries'][q]['p50_ms']:.2f} / {r['queries'][q]['p99_ms']:.2f}", '{}', False)
    add('recall@100 against exact search: tags, words, images', lambda r: ', '.join(f"{r['recall_at_100'][g]:.3f}" for g in ('tags', 'words', 'images')), '{}', False)
    add('recall@100 against exact search: words through the vector index', lambda r: r['recall_at_100']['words, through the vector index'], '{:.3f}', False)
    add('peak RSS of the bench process (GiB)', lambda r: r['peak_rss_gib'])
    add('server: start to /healthz (s)', lambda r: r['server']['start_s'], '{:.1f}')
    for key, how in (('kinds', ''), ('kinds_keepalive', ', connections kept open')):  # n/a: runs before these were measured
        for k in ('tag', 'semantic', 'hybrid', 'similar', 'open'):  # open: words that are no tag
            add(f'server req/s (p50 / p99 ms){how}: {k}', lambda r, k=k, key=key: f"{r['server'][key][k]['rps']:.0f} ({r['server'][key][k]['p50_ms']:.0f} / {r['server'][key][k]['p99_ms']:.0f})", '{}', False)
    add('server memory: PSS of master + workers (GiB)', lambda r: r['server']['pss_gib'])
    add('server memory: of it anonymous / file-backed (GiB)',  # n/a: runs before the split was measured
        lambda r: f"{r['server']['pss_anon_gib']:.2f} / {r['server']['pss_file_gib']:.2f}", '{}', False)
    add('server memory: RSS of the largest process (GiB)', lambda r: r['server']['largest_rss_gib'])
    head = '| images | ' + ' | '.join(fmt_n(r['images']) for r in R) + f' | growth {fmt_n(R[0]["images"])} → {fmt_n(R[-1]["images"])} |'
    return '\n'.join([head, '|---' * (len(R) + 2) + '|'] + rows)

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--sizes', default='10000,100000,1700000', help='comma-separated collection sizes')
    ap.add_argument('--tags', type=int, default=50_000, help='tag vocabulary (Zipf law over it)')
    ap.add_argument('--dim', type=int, default=1280, help='image feature size')
    ap.add_argument('--fp16-from', type=int, default=1_000_000, help='store image features as float16 from this many images up')
    ap.add_argument('--val-images', type=int, default=2000, help='at most about this many validation images')
    ap.add_argument('--queries', type=int, default=200, help='timed queries per kind')
    ap.add_argument('--serve-max', type=int, default=10**9, help='largest size to serve (server start-up loads the engine)')
    ap.add_argument('--threads', type=int, default=1, help='threads of torch, FAISS and BLAS in the bench (the machine is shared: see the notes)')
    ap.add_argument('--workers', type=int, default=3, help='gunicorn workers')
    ap.add_argument('--clients', type=int, default=6, help='concurrent client threads')
    ap.add_argument('--requests', type=int, default=30, help='requests per client and kind')
    ap.add_argument('--out', default=str(BENCH.parent/'nbs'/'scale_results.json'), help='JSON of the results')
    ap.add_argument('--tmp', default=None, help='folder for the collections (default: the system temp folder)')
    ap.add_argument('--keep', action='store_true', help='keep the built collections')
    ap.add_argument('--reuse', default=None, help='a collection folder an earlier run kept (--keep): run its index stage and all that follows again')
    ap.add_argument('--serve-only', action='store_true', help='with --reuse: only the server, on the collection as it is')
    ap.add_argument('--table', default=None, help='only print the table of a JSON written earlier')
    ap.add_argument('--one', type=int, default=None, help=argparse.SUPPRESS)  # internal: run one size in this process
    ap.add_argument('--folder', default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.table: return print(table(json.loads(Path(a.table).read_text())['results']))
    if a.one:
        res = run_size(a.one, a, Path(a.folder))
        print(json.dumps(res))
        return
    t0, results, failed = time.time(), [], []
    sizes = [sum(1 for _ in open(Path(a.reuse)/'collection.jsonl'))] if a.reuse else map(int, a.sizes.split(','))
    for n in sizes:
        folder = Path(a.reuse) if a.reuse else Path(tempfile.mkdtemp(prefix=f'imgsearch-scale-{n}-', dir=a.tmp))
        print(f'{n:,} images in {folder}', file=sys.stderr, flush=True)
        t = time.time()
        env = dict(os.environ, **{v: str(a.threads) for v in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'OPENBLAS_NUM_THREADS')})
        p = subprocess.run([sys.executable, __file__, '--one', str(n), '--folder', str(folder)] + sys.argv[1:], stdout=subprocess.PIPE, text=True, env=env)
        if p.returncode == 0:
            r = json.loads(p.stdout.strip().splitlines()[-1]); r['wall_s'] = time.time() - t; results.append(r)
        else: failed.append(dict(images=n, returncode=p.returncode)); print(f'{n:,} images FAILED ({p.returncode})', file=sys.stderr)
        if not (a.keep or a.reuse): shutil.rmtree(folder, ignore_errors=True)
    report = dict(machine=dict(cpus=os.cpu_count(), mem_gib=round(os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / GiB, 1)),
                  settings={k: v for k, v in vars(a).items() if k not in ('one', 'folder', 'out', 'tmp', 'keep')},
                  seconds=round(time.time() - t0), results=results, failed=failed)
    Path(a.out).write_text(json.dumps(report, indent=1))
    if results: print(table(results))
    print(f'\n{len(results)} sizes in {report["seconds"]} s; failed: {failed or "none"}; JSON: {a.out}')

if __name__ == '__main__': main()
