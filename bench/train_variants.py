"""Compare training variants on a built collection (run by hand, not a test).

Trains each variant of `TrainConfig` with 30% of the images' tags withheld (the evaluation's held-out protocol) and
reports its best validation mAP (what early stopping selects on) and, for information, the mAP of ranking the
withheld images for the tags seen in training, with the learned space alone.
Usage: .venv/bin/python bench/train_variants.py runs/demo
"""
import sys, time
from dataclasses import replace
import numpy as np
from imgsearch.train import TrainConfig, SEED_FAITHFUL, load_match_data, fit, withheld_images
from imgsearch.rankers import model_scores, heldout_queries
from imgsearch.evaluate import evaluate

VARIANTS = dict(
    default=TrainConfig(),
    hardest_negative=TrainConfig(loss='hardest'),
    margin_0_1=TrainConfig(margin=0.1),
    no_dropout=TrainConfig(dropout=0.),
    hidden_1024=TrainConfig(hidden=1024),
    batch_64=TrainConfig(batch_size=64),
    no_standardise=TrainConfig(standardise=False),
    linear_image_tower=TrainConfig(img_act=False),
    seed_faithful=SEED_FAITHFUL,
)

def main(path, names=None):
    data = load_match_data(path)
    held = withheld_images(data, 0.3)
    qd, seen = heldout_queries(data, None, data.valid & ~held)
    print('| variant | epochs | seconds | best val mAP | withheld mAP, seen tags |\n|---|---|---|---|---|')
    for name, cfg in VARIANTS.items():
        if names and name not in names: continue
        t0 = time.time()
        model, hist = fit(data, replace(cfg, withhold=0.3), device='cpu', progress=False)
        secs = time.time() - t0
        r = evaluate(qd, dict(m=lambda rows, t: model_scores(model, qd, rows, t)), dict(seen=seen), np.flatnonzero(held))['rankers']['m']
        best = max(h['val_map'] for h in hist if 'phase' not in h)
        print(f"| {name} | {len(hist)} | {secs:.0f} | {best:.3f} | {r['seen']['B']['ap']:.3f} |", flush=True)

if __name__ == '__main__': main(sys.argv[1], sys.argv[2:])
