"""Compare training variants on a built collection (run by hand, not a test).

Trains each variant of `TrainConfig` on DIR's train split and reports its best validation mAP (what early
stopping selects on) and, for information, protocol B mAP on the test split for seen and zero-shot tags.
Usage: .venv/bin/python bench/train_variants.py runs/demo
"""
import sys, time
from dataclasses import replace
import numpy as np
from imgsearch.train import TrainConfig, SEED_FAITHFUL, load_match_data, fit, zero_shot_tags
from imgsearch.evaluate import evaluate, model_scores

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
    print('| variant | epochs | seconds | best val mAP | test mAP seen | test mAP zero-shot |\n|---|---|---|---|---|---|')
    for name, cfg in VARIANTS.items():
        if names and name not in names: continue
        t0 = time.time()
        model, hist = fit(data, cfg, device='cpu', progress=False)
        secs = time.time() - t0
        zs = zero_shot_tags(data.tags, cfg.zero_shot, cfg.seed) & data.found
        r = evaluate(data, dict(m=lambda rows, t: model_scores(model, data, rows, t)), zs)['rankers']['m']
        best = max(h['val_map'] for h in hist)
        print(f"| {name} | {len(hist)} | {secs:.0f} | {best:.3f} | {r['seen']['B']['ap']:.3f} | {r['zero_shot']['B']['ap']:.3f} |", flush=True)

if __name__ == '__main__': main(sys.argv[1], sys.argv[2:])
