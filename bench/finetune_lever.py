"""Does adapting the backbone to the collection beat the neighbour vote? Fine-tune EfficientNet-Lite0's last stage on the training images' tags: run by hand on a built collection, not a test.

The evaluation's held-out protocol, as in `bench/ranking_levers.py` (same rows, same queries, same metric code): a seeded
30% of the images lose all their tags, models are trained on the rest, and each tag still carried by a training image
(and by at least 3 withheld images) ranks only the withheld images. The levers there all use the frozen pooled 1280-d
features; this one changes the features themselves:

1. cache: every image runs once through the frozen backbone (`load_backbone`, PyTorch, its own crop and normalisation,
   as `imgsearch.image.Rows` decodes them) up to the input of its last block stage (`conv_stem`, `bn1`, `blocks[:-1]`:
   [192, 7, 7] per image), stored as float16 under `--out`; running the frozen remainder (`blocks[-1]`, `conv_head`,
   `bn2`, average pool) on the cache must reproduce the build's stored features (the cosines are printed);
2. fine-tune: a copy of that remainder (its BatchNorm statistics frozen, their affine parameters trained) and a head,
   on the protocol's training rows only (`training_sets`: the withheld images' tags are never seen), random horizontal
   flips of the cached activations, AdamW (learning rates in `SETTINGS`, picked on validation in trial runs). After
   each epoch the validation rows are scored two ways: kNN label transfer (k=10) from the training rows on the
   pooled features, and the head; the best epoch by `--select` (default: the kNN one, since the engine's vote and
   its MatchNet use the features) is kept, never the untouched stage, at most `--epochs`, `--patience`, `--budget`.
   Objectives (`--objectives`): `softmax` (multi-positive softmax over the tags of the training rows, the linear head
   first fitted on the frozen features), `bce` (the same with per-tag logistic loss), `hinge` (end to end through a
   `MatchNet` first trained on the raw features with `fit(refit=False)`: the engine's hardest-negative hinge, one
   random tag per image a step);
3. re-pool: new 1280-d features for every image from the fine-tuned stage, and on them, with the protocol's code:
   kNN label transfer (`k` from validation), tag prototypes, the shipped engine (a `MatchNet` trained with `fit` on
   the new features, fused with the nearest tagged images' vote, `k` and `beta` from `tune_ranking`), the fine-tuned
   head's own scores, and the head fused (scores standardised per tag, fixed weights 1 and 2, as ranking_levers.py
   does) with the shipped ranking; the same baselines on the build's raw features for reference;
4. unseen queries (`--unseen`, as `imgsearch.evaluate`): a fifth of the tags (and their words) are taken off every
   training image, a model is trained on what is left, and the withheld images are ranked for them by the shipped
   ranking, on the raw features and on features fine-tuned (softmax) without those tags.

Prints one table: seen mAP and NDCG@10 of every variant, its ratio to raw-feature kNN (the target is 1.25x), and the
times of caching, fine-tuning (validation included) and re-pooling. The activation cache is reused when present
(delete `--out/activations.*` to time it). `--quick` is a smoke test of the code paths, not a measurement.

    .venv/bin/python bench/finetune_lever.py /tmp/fresh/runs/demo --out /tmp/ft
"""
import argparse, copy, json, os, sys, time
from dataclasses import replace
from pathlib import Path
import numpy as np, torch, torch.nn as nn, torch.nn.functional as F
from imgsearch.layout import Layout
from imgsearch.data import Collection
from imgsearch.backbone import load_backbone
from imgsearch.image import Rows
from imgsearch.text import load_build_vectors
from imgsearch.train import TrainConfig, load_match_data, fit, training_sets, withheld_images, embed_rows, zero_shot_tags
from imgsearch.model import pair_hinge_loss
from imgsearch.metrics import ranking_metrics, summarise
from imgsearch.evidence import unit_rows, nearest_evidence, knn_votes, fuse, KS
from imgsearch.rankers import heldout_queries, fused_ranker
from imgsearch.evaluate import evaluate, without_tags
sys.path.insert(0, str(Path(__file__).parent))
from ranking_levers import labels  # the protocol's label matrix, as the lever bench builds it

# ---------------------------------------------------------------- 1. the activation cache

def split_backbone(m):
    "(the frozen trunk up to the last stage's input, the remainder: last stage + conv_head + bn2 + average pool) of a timm EfficientNet."
    trunk = nn.Sequential(m.conv_stem, m.bn1, *m.blocks[:-1])
    rest = nn.Sequential(m.blocks[-1], m.conv_head, m.bn2, nn.AdaptiveAvgPool2d(1), nn.Flatten())
    return trunk.eval(), rest.eval()

def cache_activations(bb, trunk, paths, out, batch=64):
    "[N, C, 7, 7] float16 activations at the last stage's input, in row order, cached in `out`; (array, bad rows, seconds, reused)."
    f, meta = out / 'activations.npy', out / 'activations.json'
    key = dict(rows=len(paths), first=paths[0], last=paths[-1], weights=bb.weights_sha256, pre=bb.preprocessing)
    if f.is_file() and meta.is_file() and json.loads(meta.read_text())['key'] == key:
        m = json.loads(meta.read_text())
        return np.load(f), np.array(m['bad'], np.int64), m['seconds'], True
    t0 = time.time()
    ds = Rows(paths, bb.crop, bb.preprocessing.get('jpeg_draft'), None)  # decoded and cropped as the build does
    dl = torch.utils.data.DataLoader(ds, batch_size=batch, num_workers=1, prefetch_factor=4)  # one worker decodes
    A, bad = None, []
    with torch.inference_mode():
        for x, rows, why in dl:
            a = trunk(bb.to_input(x)).to(torch.float16).contiguous().numpy()
            if A is None: A = np.zeros((len(paths),) + a.shape[1:], np.float16)
            A[rows.numpy()] = a
            bad += [int(r) for r, w in zip(rows, why) if w]
            if int(rows[-1]) // batch % 20 == 19: print(f'  cache: {int(rows[-1]) + 1}/{len(paths)} rows, {time.time() - t0:.0f} s', flush=True)
    A[bad] = 0
    secs = time.time() - t0
    np.save(f, A); meta.write_text(json.dumps(dict(key=key, bad=bad, seconds=secs)))
    return A, np.array(bad, np.int64), secs, False

@torch.no_grad()
def pool(rest, A, rows, bs=512):
    "[len(rows), 1280] pooled features of the cached activations at `rows` through `rest`."
    rest.eval()
    return torch.cat([rest(torch.as_tensor(A[rows[i:i + bs]]).float()) for i in range(0, len(rows), bs)]).numpy()

# ---------------------------------------------------------------- 2. fine-tuning

def freeze_bn(mod):
    "BatchNorm layers in eval mode: their running statistics stay the backbone's; the affine parameters still train."
    for m in mod.modules():
        if isinstance(m, nn.BatchNorm2d): m.eval()

def multi_positive(lo, y, loss):
    "The classifier's loss: softmax over the tags, averaged over each image's tags, or per-tag logistic."
    if loss == 'bce': return F.binary_cross_entropy_with_logits(lo, y)
    return (-(y * lo.log_softmax(1)).sum(1) / y.sum(1).clamp(min=1)).mean()

def val_map(s, Lv):
    "mAP over the validation rows of the tags that have a relevant one among them."
    keep = Lv.any(0)
    return summarise(ranking_metrics(s[:, keep], Lv[:, keep]))['ap']

def linear_probe(P, Y, fit_rows, val_rows, Lv, loss, epochs=60, patience=6, seed=0):
    "A linear head fitted on frozen pooled features `P` (early stopping on validation mAP): the fine-tune's starting head."
    torch.manual_seed(seed)
    X = torch.as_tensor(P); head = nn.Linear(X.shape[1], Y.shape[1])
    opt = torch.optim.AdamW(head.parameters(), lr=1e-3, weight_decay=1e-4)
    best, state, bad = -1., None, 0
    for ep in range(epochs):
        for b in torch.randperm(len(fit_rows)).split(256):
            l = multi_positive(head(X[fit_rows[b.numpy()]]), Y[b], loss)
            opt.zero_grad(); l.backward(); opt.step()
        with torch.no_grad(): v = val_map(head(X[val_rows]).numpy(), Lv)
        if v > best: best, bad, state = v, 0, copy.deepcopy(head.state_dict())
        else:
            bad += 1
            if bad >= patience: break
    head.load_state_dict(state)
    return head, best, ep + 1

def fine_tune(rest0, A, data, cfg, objective, P0=None, matcher=None, epochs=8, patience=2, lr=1e-4, head_lr=1e-3,
              batch=128, budget=150., drop=0.2, hflip=True, only_bn=False, select='knn', seed=0, log=print):
    """Fine-tune a copy of `rest0` (and a head) on the protocol's training rows of `data` with `objective`; early stopping
    on its validation rows. Returns (the stage, scorer: pooled features -> [n, T] scores (-1e4 for tags it cannot score), info)."""
    torch.manual_seed(seed); g = torch.Generator().manual_seed(seed)
    pairs, val_rows, _ = training_sets(data, cfg)
    fit_rows, T = np.unique(pairs[:, 0]), len(data.tags)
    rest = copy.deepcopy(rest0)
    if objective in ('softmax', 'bce'):
        seen = np.flatnonzero(labels(data, fit_rows).any(0))  # every tag of the training rows (none of a withheld image)
        Y, Lv = torch.as_tensor(labels(data, fit_rows)[:, seen], dtype=torch.float32), labels(data, val_rows)[:, seen]
        head, lp_map, lp_ep = linear_probe(P0, Y, fit_rows, val_rows, Lv, objective, seed=seed)
        log(f'  {objective}: linear probe on the frozen features, validation mAP {lp_map:.4f} after {lp_ep} epochs')
        head = nn.Sequential(nn.Dropout(drop), head)
        def scores(P):
            out = np.full((len(P), T), -1e4, np.float32)
            with torch.no_grad(): out[:, seen] = head(torch.as_tensor(P)).numpy()
            return out
        def loss_of(p, b): return multi_positive(head(p), Y[b], objective)
    elif objective == 'hinge':
        seen = np.flatnonzero(np.bincount(pairs[:, 1], minlength=T) > 0)  # tags trained on: found, carried by a training row
        head, Lv = copy.deepcopy(matcher).train(), labels(data, val_rows)[:, seen]
        V = torch.as_tensor(data.vecs)
        tags_of = [data.item_tags[r][np.isin(data.item_tags[r], seen)] for r in fit_rows]
        def scores(P):
            out = np.full((len(P), T), -1e4, np.float32)
            with torch.no_grad(): out[:, seen] = (head.embed_images(torch.as_tensor(P)) @ head.embed_texts(V[seen]).T).numpy()
            return out
        def loss_of(p, b):
            rows = fit_rows[b.numpy()]
            tids = np.array([ts[torch.randint(len(ts), (1,), generator=g).item()] for ts in (tags_of[i] for i in b.numpy())])
            sims = head.embed_images(p) @ head.embed_texts(V[tids]).T
            mask = (data.padded_tags(rows)[:, None, :] == torch.as_tensor(tids)[None, :, None]).any(-1)
            return pair_hinge_loss(sims, mask, cfg.margin, hardest=True)
    else: raise ValueError(f'unknown objective {objective!r}')
    stage = [p for m in rest.modules() if isinstance(m, nn.BatchNorm2d) for p in m.parameters()] if only_bn else list(rest.parameters())
    for p in rest.parameters(): p.requires_grad_(any(p is s for s in stage))
    params = [dict(params=stage, lr=lr), dict(params=head.parameters(), lr=head_lr)]
    opt = torch.optim.AdamW(params, weight_decay=1e-4)
    Lk = labels(data, val_rows)
    def validate():
        "(validation mAP of kNN label transfer (k=10) from the training rows on the pooled features, of the head's own scores)."
        rest.eval(); head.eval()
        P = pool(rest, A, np.concatenate([val_rows, fit_rows]))
        nb, s = nearest_evidence(P, np.arange(len(val_rows)), np.arange(len(val_rows), len(P)), k=10)
        u = np.unique(nb[nb >= 0]); nbu = np.where(nb >= 0, np.searchsorted(u, nb), -1)
        return val_map(knn_votes(nbu, s, labels(data, fit_rows[u - len(val_rows)]), 10), Lk), val_map(scores(P[:len(val_rows)])[:, seen], Lv)
    pick = 0 if select == 'knn' else 1
    v0 = validate(); best, state, bad, hist, t0 = -1., None, 0, [], time.time()
    log(f'  {objective}: before fine-tuning, validation mAP of kNN {v0[0]:.4f}, of the head {v0[1]:.4f} '
        f'({len(fit_rows)} training rows, {len(val_rows)} validation rows, {len(seen)} tags; selecting on the {select})')
    for ep in range(epochs):
        rest.train(); freeze_bn(rest); head.train(); te = time.time(); losses = []
        for b in torch.randperm(len(fit_rows), generator=g).split(batch):
            a = torch.as_tensor(A[fit_rows[b.numpy()]]).float()
            f = (torch.rand(len(b), generator=g) < 0.5) & hflip
            a = torch.where(f[:, None, None, None], a.flip(-1), a)  # a horizontal flip of the feature map: free augmentation
            l = loss_of(rest(a), b)
            opt.zero_grad(); l.backward(); opt.step(); losses.append(l.item())
        v = validate()
        hist.append(dict(epoch=ep + 1, loss=round(float(np.mean(losses)), 4), val_knn=round(v[0], 4), val_head=round(v[1], 4), seconds=round(time.time() - te, 1)))
        log(f'  {objective}: epoch {ep + 1}: loss {hist[-1]["loss"]:.4f}, validation mAP of kNN {v[0]:.4f}, of the head {v[1]:.4f}, {hist[-1]["seconds"]:.0f} s')
        if v[pick] > best: best, bad, state, best_ep = v[pick], 0, (copy.deepcopy(rest.state_dict()), copy.deepcopy(head.state_dict())), ep + 1
        else:
            bad += 1
            if bad >= patience: break
        if time.time() - t0 > budget: log(f'  {objective}: time budget of {budget:.0f} s spent'); break
    rest.load_state_dict(state[0]); head.load_state_dict(state[1])  # the best trained epoch's: never the untouched stage
    rest.eval(); head.eval()
    return rest, scores, dict(val_before=[round(x, 4) for x in v0], best_epoch=best_ep, val_best=[hist[best_ep - 1]['val_knn'], hist[best_ep - 1]['val_head']],
                              epochs=len(hist), seconds=round(time.time() - t0, 1), history=hist)

# ---------------------------------------------------------------- 3. the protocol's measurements

def metrics(s, LW, q):
    "(mAP, NDCG@10) of scores `s` [withheld rows, T] over the seen queries `q`, as bench/ranking_levers.py computes mAP."
    m = summarise(ranking_metrics(s[:, q], LW[:, q]))
    return round(m['ap'], 4), round(m['ndcg10'], 4)

def measure(data, feats, cfg, W, R, LW, LR, q, label, res):
    "kNN label transfer, tag prototypes and the shipped engine (fit on `feats`) into `res`; returns the shipped fused scores of W and its ranking."
    d = replace(data, feats=feats)
    t0 = time.time()
    model, _ = fit(d, cfg, progress=False); rk = model.ranking
    E = embed_rows(model, d, W).numpy()
    with torch.no_grad(): Q = model.embed_texts(torch.as_tensor(data.vecs)).numpy()
    text = E @ Q.T
    nb, sims = nearest_evidence(feats, W, R, k=max(KS))
    u = np.unique(nb[nb >= 0]); nbu = np.where(nb >= 0, np.searchsorted(u, nb), -1); Lu = labels(data, u)
    P = unit_rows(LR.T.astype(np.float32) @ unit_rows(feats[R]))
    res[f'{label}: tag prototypes'] = metrics(unit_rows(feats[W]) @ P.T, LW, q)
    res[f"{label}: kNN label transfer (k={rk['knn_k']} from validation)"] = metrics(knn_votes(nbu, sims, Lu, rk['knn_k']), LW, q)
    res[f'{label}: shipped MatchNet, learned space alone'] = metrics(text, LW, q)
    shipped = fuse(text, knn_votes(nbu, sims, Lu, rk['k']), rk['k'], rk['beta'])
    res[f"{label}: shipped engine, fused with the vote (k={rk['k']}, beta={rk['beta']:g} from validation)"] = metrics(shipped, LW, q)
    print(f'  {label}: fit + measurements {time.time() - t0:.0f} s', flush=True)
    return shipped, rk

def unseen_map(zdata, feats, cfg, kv, evidence, held_rows):
    "(mAP, NDCG@10, queries) of the shipped ranking for the unseen queries, as `imgsearch.evaluate.evaluate_collection` measures them."
    d = replace(zdata, feats=feats)
    zmodel, _ = fit(d, cfg, progress=False)
    qz, seen_z = heldout_queries(d, kv, evidence)
    nb, sims = nearest_evidence(feats, held_rows, np.flatnonzero(evidence), k=max(KS))
    rep = evaluate(qz, dict(ours=fused_ranker(zmodel, qz, nb, sims, held_rows, zmodel.ranking)), dict(unseen=~seen_z), held_rows, 3, 0)
    B = rep['rankers']['ours']['unseen']['B']
    return round(B['ap'], 4), round(B['ndcg10'], 4), rep['queries']['unseen']

# ---------------------------------------------------------------- the run

SETTINGS = dict(  # per objective: the stage's and the head's learning rates and the head's dropout, picked on validation in trial runs
    softmax=dict(lr=3e-5, head_lr=3e-4, drop=0.5), bce=dict(lr=1e-5, head_lr=1e-4, drop=0.), hinge=dict(lr=1e-5, head_lr=1e-4))

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('path', nargs='?', default='/tmp/fresh/runs/demo'); ap.add_argument('--out', default='/tmp/ft')
    ap.add_argument('--withhold', type=float, default=0.3); ap.add_argument('--zero-shot', type=float, default=0.2)
    ap.add_argument('--objectives', default='softmax,bce,hinge', help='comma-separated: softmax, bce, hinge')
    ap.add_argument('--epochs', type=int, default=4); ap.add_argument('--patience', type=int, default=2)
    ap.add_argument('--select', default='knn', help="early stopping on the validation mAP of 'knn' (label transfer on the pooled features) or of the 'head'")
    ap.add_argument('--budget', type=float, default=150., help='seconds of fine-tuning per objective (checked after each epoch)')
    ap.add_argument('--unseen', action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--quick', action='store_true', help='smoke test: 2 training epochs for every model, 1 for the fine-tune')
    a = ap.parse_args(); t_all = time.time()
    torch.set_num_threads(a.threads)
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    L = Layout.of(a.path).require()
    data, coll = load_match_data(L), Collection.load(L.collection)
    assert list(data.ids) == coll.ids, 'collection rows and feature rows differ'
    cfg = TrainConfig(withhold=a.withhold, **(dict(epochs=2, patience=1) if a.quick else {}))
    ft = dict(epochs=1 if a.quick else a.epochs, patience=a.patience, select=a.select, budget=a.budget)
    held = withheld_images(data, a.withhold); train = data.valid & ~held
    W, R = np.flatnonzero(held), np.flatnonzero(train & np.array([len(t) > 0 for t in data.item_tags]))
    LW, LR = labels(data, W), labels(data, R)
    q = np.flatnonzero(data.found & LR.any(0) & (LW.sum(0) >= 3))
    raw = np.asarray(data.feats, np.float32)
    print(f'{a.path}: {len(data.ids)} images, {len(W)} withheld, {len(R)} tagged training images (evidence), {len(q)} seen queries', flush=True)

    # 1. cache, and check that the frozen remainder reproduces the build's features
    bb = load_backbone('efficientnet_lite0', runtime='torch', device='cpu')
    trunk, rest0 = split_backbone(bb.model)
    A, bad, t_cache, reused = cache_activations(bb, trunk, [it.path for it in coll], out)
    A = np.ascontiguousarray(A)  # in memory: batches gather random rows
    ok = np.isin(np.arange(len(data.ids)), bad, invert=True)
    assert (ok == data.valid).all(), f'unreadable rows differ from the build: {np.flatnonzero(ok != data.valid)[:10]}'
    t0 = time.time(); P0 = pool(rest0, A, np.arange(len(A))); t_pool0 = time.time() - t0
    v = np.flatnonzero(data.valid)
    cos = (unit_rows(P0[v]) * unit_rows(raw[v])).sum(1)
    rel = np.linalg.norm(P0[v] - raw[v], axis=1) / np.linalg.norm(raw[v], axis=1)
    print(f'cache: {A.shape} {A.dtype}, {A.nbytes / 2**20:.0f} MiB, {"reused; computed in" if reused else "computed in"} {t_cache:.0f} s; '
          f'frozen remainder on it vs the build\'s features ({len(v)} readable rows): cosine min {cos.min():.6f}, mean {cos.mean():.6f}; '
          f'relative L2 error max {rel.max():.4f}, mean {rel.mean():.4f}; pooling all rows {t_pool0:.1f} s', flush=True)
    P0[~data.valid] = 0

    res, times = {}, {}
    # baselines on the build's raw features
    base_raw, rk_raw = measure(data, raw, cfg, W, R, LW, LR, q, 'raw features', res)
    z = lambda s: (s - s.mean(0)) / (s.std(0) + 1e-6)

    # 2. + 3. fine-tune each objective, re-pool, measure
    feats_of = {}
    matcher = None
    for obj in a.objectives.split(','):
        if obj == 'hinge':
            matcher, _ = fit(data, replace(cfg, refit=False), progress=False)  # trained on the training rows only, like the fine-tune
        rest, scorer, info = fine_tune(rest0, A, data, cfg, obj, P0=P0, matcher=matcher, **SETTINGS[obj], **ft)
        t0 = time.time(); Fz = pool(rest, A, np.arange(len(A))); Fz[~data.valid] = 0; t_re = time.time() - t0
        times[obj] = dict(SETTINGS[obj], fine_tune_s=info['seconds'], epochs=info['epochs'], best_epoch=info['best_epoch'], repool_s=round(t_re, 1),
                          val_map_knn_head_before=info['val_before'], val_map_knn_head_best=info['val_best'])
        print(f'  {obj}: fine-tuned {info["epochs"]} epochs in {info["seconds"]:.0f} s (validation included), kept epoch {info["best_epoch"]}; re-pooled all rows in {t_re:.1f} s', flush=True)
        feats_of[obj] = Fz
        label = f'fine-tuned ({obj})'
        shipped, _ = measure(data, Fz, cfg, W, R, LW, LR, q, label, res)
        head = scorer(Fz[W])
        res[f'{label}: its own head' + (' (MatchNet cosine, end to end)' if obj == 'hinge' else ' (logits)')] = metrics(head, LW, q)
        if obj != 'hinge': res[f'{label}: its own head (softmax probabilities)'] = metrics(torch.as_tensor(head).softmax(1).numpy(), LW, q)
        hs = np.where(head <= -1e3, 0, head)  # tags the head never learned: no contribution
        for w in (1., 2.):
            res[f'{label}: head, {w:g} x standardised, + shipped engine on these features'] = metrics(z(shipped) + w * z(hs), LW, q)
            res[f'{label}: head, {w:g} x standardised, + shipped engine on raw features'] = metrics(z(base_raw) + w * z(hs), LW, q)

    unseen = {}
    if a.unseen:  # as evaluate_collection: a fifth of the tags off every training image, and off the fine-tune
        t0 = time.time()
        kv = load_build_vectors(L)
        zs = zero_shot_tags(data.tags, a.zero_shot, 0) & data.found
        zdata = without_tags(data, zs, ~held)
        evidence = data.valid & ~held & np.array([len(t) > 0 for t in data.item_tags], bool)
        unseen['raw features: shipped engine'] = unseen_map(zdata, raw, cfg, kv, evidence, W)
        P0z = P0  # the frozen features do not depend on the tags
        rest, _, info = fine_tune(rest0, A, zdata, cfg, 'softmax', P0=P0z, **SETTINGS['softmax'], **ft)
        Fz = pool(rest, A, np.arange(len(A))); Fz[~data.valid] = 0
        unseen['fine-tuned (softmax, without the unseen tags): shipped engine'] = unseen_map(zdata, Fz, cfg, kv, evidence, W)
        times['unseen (softmax without the unseen tags)'] = dict(fine_tune_s=info['seconds'], epochs=info['epochs'], best_epoch=info['best_epoch'], unseen_part_total_s=round(time.time() - t0, 1))

    knn_raw = next(v for k, v in res.items() if k.startswith('raw features: kNN'))[0]
    print(f'\n{a.path}: {len(W)} withheld images, {len(q)} seen queries (tags on a training image and on >= 3 withheld ones); '
          f'target 1.25 x raw kNN = {1.25 * knn_raw:.4f}; best first; {time.time() - t_all:.0f} s in all\n')
    print('| variant | seen mAP | NDCG@10 | / raw kNN |\n|---|---|---|---|')
    for k, (m, n) in sorted(res.items(), key=lambda kv: -kv[1][0]): print(f'| {k} | {m:.4f} | {n:.4f} | {m / knn_raw:.2f}x |')
    if unseen:
        print('\n| unseen queries | mAP | NDCG@10 | queries |\n|---|---|---|---|')
        for k, (m, n, c) in unseen.items(): print(f'| {k} | {m:.4f} | {n:.4f} | {c} |')
    print(f'\ntimes: activation cache {t_cache:.0f} s{" (reused from an earlier run)" if reused else ""}, {A.nbytes / 2**20:.0f} MiB as float16 '
          f'({A.shape[1]}x{A.shape[2]}x{A.shape[3]} per image); frozen remainder over all rows {t_pool0:.1f} s')
    for k, t in times.items(): print(f'  {k}: {t}')

if __name__ == '__main__': main()
