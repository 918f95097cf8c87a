"""Float16 storage: what storing image features or projected vectors as float16 costs in search quality.

Run by hand, not a test, on a built and trained collection (default `runs/demo`). Evaluates the trained model
on the images `imgsearch-eval` withheld from it (`DIR/model/measure.pt`, the tags seen in training, with
`imgsearch.evaluate.evaluate`) with four rankers:

- `float32`: the stored features and vectors as they are (float32);
- `features float16`: the image features cast to float16 and back before the image tower (float16 shards);
- `projections float16`: the projected 128-d image vectors cast to float16 and back (a float16 `vectors.npy`);
  the query side (text tower) stays float32, as it is computed per query;
- `both float16`: both casts.

Prints the table, the mAP differences against float32, how far the scores move (largest and mean absolute change of
a cosine), how many top-10 lists of the withheld images change, and the storage each choice needs at the collection's size and at
1.7 million images.

    .venv/bin/python bench/fp16.py                 # runs/demo
    .venv/bin/python bench/fp16.py runs/sample --out /tmp/fp16.json
"""
import argparse, json, sys, time
from dataclasses import replace
from pathlib import Path
import numpy as np, torch
from imgsearch.evaluate import evaluate, format_table, heldout_queries
from imgsearch.model import load_matcher
from imgsearch.train import load_match_data, embed_rows, withheld_images

def half(x): return np.asarray(x).astype(np.float16).astype(np.float32)

@torch.no_grad()
def scores(model, data, rows, tids, fp16_vectors=False):
    "Cosine of image rows with tags, as `model_scores`, optionally with float16 image vectors."
    v = embed_rows(model, data, rows).numpy()
    if fp16_vectors: v = half(v)
    return v @ model.embed_texts(torch.as_tensor(data.vecs[tids])).numpy().T

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('path', nargs='?', default='runs/demo', help='a built and trained collection folder')
    ap.add_argument('--out', default=None, help='also write the report as JSON here')
    a = ap.parse_args()
    t0 = time.time()
    path = Path(a.path)
    model, meta = load_matcher(path/'model'/'measure.pt')
    data = load_match_data(path)
    held = withheld_images(data, meta['withheld'], meta['train']['seed'])
    data, seen = heldout_queries(data, None, data.valid & ~held)
    data16 = replace(data, feats=half(data.feats))
    rankers = {'float32': lambda r, t: scores(model, data, r, t),
               'features float16': lambda r, t: scores(model, data16, r, t),
               'projections float16': lambda r, t: scores(model, data, r, t, fp16_vectors=True),
               'both float16': lambda r, t: scores(model, data16, r, t, fp16_vectors=True)}
    rows = np.flatnonzero(held); rep = evaluate(data, rankers, dict(seen=seen), rows)
    print(f'{path}: {len(data.ids)} images, features {data.feats.shape[1]}-d {data.feats.dtype}, model {model.cfg.dim}-d\n')
    print(format_table(rep))
    # how far the scores and the rankings move on the withheld images
    tids = np.flatnonzero(data.found)
    S = {k: f(rows, tids) for k, f in rankers.items()}
    top = {k: np.argsort(-s, 0, kind='stable')[:10].T for k, s in S.items()}
    base = rep['rankers']['float32']
    print(f'\n| storage | seen mAP | Δ | seen A mAP | Δ | max \\|Δ cosine\\| | mean \\|Δ cosine\\| | top-10 lists changed |')
    print('|---|---|---|---|---|---|---|---|')
    diff = {}
    for k, r in rep['rankers'].items():
        d = np.abs(S[k] - S['float32'])
        changed = int((top[k] != top['float32']).any(1).sum())
        diff[k] = dict(seen_map=r['seen']['B']['ap'], d_seen_map=r['seen']['B']['ap'] - base['seen']['B']['ap'],
                       seen_a_map=r['seen']['A']['ap'], d_seen_a_map=r['seen']['A']['ap'] - base['seen']['A']['ap'],
                       max_abs_score_change=float(d.max()), mean_abs_score_change=float(d.mean()), top10_changed=changed, top10_lists=len(tids))
        x = diff[k]
        print(f"| {k} | {x['seen_map']:.4f} | {x['d_seen_map']:+.1e} | "
              f"{x['seen_a_map']:.4f} | {x['d_seen_a_map']:+.1e} | {x['max_abs_score_change']:.1e} | {x['mean_abs_score_change']:.1e} | {changed} of {len(tids)} |")
    n, fd, vd = len(data.ids), data.feats.shape[1], model.cfg.dim
    size = lambda rows, d, b: rows * d * b / 2**30
    print(f'\nstorage (GiB): features {fd}-d float32 {size(n, fd, 4):.3f} / float16 {size(n, fd, 2):.3f} here, '
          f'{size(1.7e6, fd, 4):.2f} / {size(1.7e6, fd, 2):.2f} at 1.7M; vectors {vd}-d float32 {size(n, vd, 4):.4f} / float16 {size(n, vd, 2):.4f} here, '
          f'{size(1.7e6, vd, 4):.2f} / {size(1.7e6, vd, 2):.2f} at 1.7M')
    print(f'{time.time() - t0:.1f} s')
    if a.out: Path(a.out).write_text(json.dumps(dict(path=str(path), report=rep, diff=diff), indent=1, default=float))

if __name__ == '__main__': main()
