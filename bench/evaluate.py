"""Benchmark of the evaluation (imgsearch.evaluate.evaluate) on a synthetic collection, run by hand, not a test.

Builds a synthetic MatchData of N images and T tags, trains a small model for one epoch, and evaluates the random
ranker and the model: prints the test images, the scored queries, the seconds of each ranker and the peak memory.
With --compare-sort it evaluates again in the same run with every query's candidates sorted (the definition of the
ranks, which `ranking_metrics` avoids), checks that every figure is the same and prints both times.

    .venv/bin/python bench/evaluate.py --n 200000 --tags 2000 --compare-sort
"""
import argparse, resource, time
import numpy as np
import imgsearch.metrics
from imgsearch.train import synthetic_match_data, fit, TrainConfig, zero_shot_tags, withheld_images
from imgsearch.rankers import random_scores, model_ranker
from imgsearch.evaluate import evaluate

def peak_gib(): return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--n', type=int, default=200_000, help='images')
    ap.add_argument('--tags', type=int, default=2_000, help='tags')
    ap.add_argument('--cells', type=int, default=2**24, help="evaluate's test images x tags scored at once")
    ap.add_argument('--compare-sort', action='store_true', help='evaluate again sorting every query\'s candidates, and compare')
    a = ap.parse_args()
    t = time.time()
    d = synthetic_match_data(n=a.n, n_tags=a.tags, img_dim=64, txt_dim=16)
    m, _ = fit(d, TrainConfig(epochs=1, batch_size=512, patience=0, hidden=64, dim=32, zero_shot=0.2, withhold=0.3), device='cpu', progress=False)
    zs, held = zero_shot_tags(d.tags, 0.2, 0) & d.found, withheld_images(d, 0.3)
    print(f'data and model: {time.time() - t:.1f} s, peak RSS {peak_gib():.2f} GiB')
    run = lambda: evaluate(d, dict(random=lambda r, t: random_scores(d, r, t), ours=model_ranker(m, d)), dict(seen=~zs, unseen=zs),
                           np.flatnonzero(held), cells=a.cells)
    before = peak_gib(); t = time.time()
    rep = run(); secs = time.time() - t
    each = ', '.join(f"{k} {v['seconds']:.1f} s" for k, v in rep['rankers'].items())
    print(f'{a.n} images, {a.tags} tags: {rep["images"]} withheld images, queries {rep["queries"]}; evaluate {secs:.1f} s '
          f'({each}); peak RSS {before:.2f} -> {peak_gib():.2f} GiB')
    if a.compare_sort:
        counted = imgsearch.metrics.relevant_ranks
        imgsearch.metrics.relevant_ranks = by_sorting
        try: t = time.time(); ref = run(); secs_sort = time.time() - t
        finally: imgsearch.metrics.relevant_ranks = counted
        strip = lambda r: {k: {g: v for g, v in x.items() if g != 'seconds'} for k, x in r['rankers'].items()}
        assert strip(ref) == strip(rep), 'the figures differ'
        each = ', '.join(f"{k} {v['seconds']:.1f} s" for k, v in ref['rankers'].items())
        print(f'the same figures with every query sorted: evaluate {secs_sort:.1f} s ({each}): counting is {secs_sort / secs:.1f}x faster')

def by_sorting(s, pos):
    "The ranks of `pos` by sorting every candidate: what `relevant_ranks` computes without sorting."
    place = np.empty(len(s), np.int64); place[np.argsort(-s, kind='stable')] = np.arange(1, len(s) + 1)
    return np.sort(place[pos])

if __name__ == '__main__': main()
