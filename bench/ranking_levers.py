"""Which levers make the engine's ranking beat the neighbour vote: run by hand on a built collection, not a test.

The evaluation's held-out protocol (`imgsearch.evaluate`): a seeded 30% of the images lose all their tags, models are
trained on the rest, and each tag still carried by a training image (and by at least 3 withheld images) ranks only
the withheld images. Prints the mAP of every lever tried, winners and losers, in one run:

- training objectives, the learned space alone: today's per-pair hinge with the hardest in-batch negative (the
  default), a multi-positive InfoNCE with a learned temperature (every tag of an image at once, against every seen
  tag; and each tag against the batch's images), and that InfoNCE with a learned embedding per tag added to the text
  tower's output (dropped at random while training, so that words without one still work);
- query-time evidence on the default model: the tag's prototype in the learned space added to its query vector, the
  nearest tagged images' vote on the raw CNN features (what the engine ships, `k` and `beta` from validation) or in
  the learned space, and label propagation over a kNN graph of all images (the vote spread further, transductively);
- an ensemble: the cosines of three models trained with different seeds averaged, alone and fused with the vote;
- a supervised classifier over the seen tags on the raw CNN features (one hidden layer of 1024, dropout 0.5, epochs
  chosen on validation), softmax or per-tag logistic loss, alone and fused (each score standardised per tag) with what
  the engine ships;
- the baselines: kNN label transfer and tag prototypes on the raw CNN features.

    .venv/bin/python bench/ranking_levers.py runs/demo
"""
import argparse, math, time
from dataclasses import replace
import numpy as np, scipy.sparse as sp, torch, torch.nn as nn, torch.nn.functional as F
from imgsearch.train import TrainConfig, load_match_data, fit, training_sets, withheld_images, embed_rows
from imgsearch.model import MatchNet, MatchConfig
from imgsearch.metrics import ranking_metrics, summarise
from imgsearch.evidence import unit_rows, nearest_evidence, knn_votes, fuse

def labels(data, rows):
    L = np.zeros((len(rows), len(data.tags)), bool)
    for i, r in enumerate(rows): L[i, data.item_tags[r]] = True
    return L

def infonce(data, cfg, tag_emb=False, drop=0.5, seed=0):
    "A MatchNet (and tag embeddings) trained with multi-positive InfoNCE and a learned temperature; early stopping on validation mAP."
    torch.manual_seed(seed)
    pairs, val_rows, _ = training_sets(data, cfg)
    fit_rows, T = np.unique(pairs[:, 0]), len(data.tags)
    seen = np.flatnonzero(np.bincount(pairs[:, 1], minlength=T) > 0)
    net = MatchNet(MatchConfig(img_dim=data.feats.shape[1], txt_dim=data.vecs.shape[1]))
    net.set_input_stats(np.asarray(data.feats[fit_rows]), data.vecs[seen])
    emb, scale = nn.Embedding(T, net.cfg.dim), nn.Parameter(torch.tensor(math.log(1 / 0.05)))
    nn.init.zeros_(emb.weight)
    opt = torch.optim.AdamW(list(net.parameters()) + [scale] + (list(emb.parameters()) if tag_emb else []), lr=1e-3, weight_decay=1e-4)
    V, S, Y = torch.as_tensor(data.vecs), torch.as_tensor(seen), torch.as_tensor(labels(data, fit_rows)[:, seen], dtype=torch.float32)
    def queries(train):
        z = net.txt(V[S])
        if tag_emb:
            e = emb(S)
            z = z + (e * (torch.rand(len(S), 1) > drop).float() / (1 - drop) if train else e)
        return F.normalize(z, dim=-1)
    g, best, bad, state = torch.Generator().manual_seed(seed), -1., 0, None
    Lv = labels(data, val_rows)[:, seen]; keep = Lv.any(0)
    for ep in range(cfg.epochs):
        net.train()
        for b in torch.randperm(len(fit_rows), generator=g).split(cfg.batch_size):
            x = torch.as_tensor(np.asarray(data.feats[fit_rows[b.numpy()]]))
            logits = scale.exp().clamp(max=100) * net.embed_images(x) @ queries(True).T
            y = Y[b]; has = y.sum(0) > 0
            li = (-(y * logits.log_softmax(1)).sum(1) / y.sum(1).clamp(min=1))[y.sum(1) > 0].mean()
            lt = (-(y[:, has].T * logits[:, has].T.log_softmax(1)).sum(1) / y[:, has].sum(0)).mean()
            opt.zero_grad(); ((li + lt) / 2).backward(); opt.step()
        net.eval()
        with torch.no_grad(): s = embed_rows(net, data, val_rows).numpy() @ queries(False).numpy().T
        v = summarise(ranking_metrics(s[:, keep], Lv[:, keep]))['ap']
        if v > best: best, bad, state = v, 0, ({k: t.clone() for k, t in net.state_dict().items()}, emb.weight.detach().clone())
        else:
            bad += 1
            if bad >= cfg.patience: break
    net.load_state_dict(state[0]); emb.weight.data = state[1]; net.eval()
    with torch.no_grad():
        z = net.txt(V) + (emb.weight if tag_emb else 0)
        return embed_rows(net, data, np.arange(len(data.ids))).numpy(), F.normalize(z, dim=-1).numpy()

def propagate(X, rows, seeds, k=5, alpha=0.5, steps=10):
    "Label propagation over a symmetric kNN graph of `rows` (cosine^3 weights): scores [len(rows), T] from the seed labels."
    U = unit_rows(X[rows]); Sm = U @ U.T; np.fill_diagonal(Sm, -1)
    I = np.argpartition(-Sm, k, 1)[:, :k]; D = np.clip(np.take_along_axis(Sm, I, 1), 0, None) ** 3
    A = sp.csr_matrix((D.ravel(), (np.repeat(np.arange(len(rows)), k), I.ravel())), shape=(len(rows),) * 2); A = A + A.T
    d = 1 / np.sqrt(np.clip(np.asarray(A.sum(1)).ravel(), 1e-12, None)); G = sp.diags(d) @ A @ sp.diags(d)
    f = seeds.astype(np.float32)
    for _ in range(steps): f = alpha * (G @ f) + (1 - alpha) * seeds
    return f

def classifier(data, rows, val, seen, loss='softmax', hidden=1024, drop=0.5, epochs=30, seed=0):
    "[N, T] scores of an MLP classifier over the `seen` tags trained on `rows` (epoch chosen on `val` mAP); -1e4 for other tags."
    torch.manual_seed(seed)
    X = np.asarray(data.feats, np.float32); mu, sd = X[rows].mean(0), X[rows].std(0) + 1e-6
    Xt, Y = torch.as_tensor((X - mu) / sd), torch.as_tensor(labels(data, rows)[:, seen], dtype=torch.float32)
    net = nn.Sequential(nn.Dropout(drop), nn.Linear(X.shape[1], hidden), nn.ReLU(), nn.Dropout(drop), nn.Linear(hidden, len(seen)))
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=1e-4)
    Lv = labels(data, val)[:, seen]; keep = Lv.any(0); best, state = -1., None
    for _ in range(epochs):
        net.train()
        for b in torch.randperm(len(rows)).split(256):
            lo, y = net(Xt[rows[b.numpy()]]), Y[b]
            l = (-(y * lo.log_softmax(1)).sum(1) / y.sum(1).clamp(min=1)).mean() if loss == 'softmax' else F.binary_cross_entropy_with_logits(lo, y)
            opt.zero_grad(); l.backward(); opt.step()
        net.eval()
        with torch.no_grad(): v = summarise(ranking_metrics(net(Xt[val]).numpy()[:, keep], Lv[:, keep]))['ap']
        if v > best: best, state = v, {k: t.clone() for k, t in net.state_dict().items()}
    net.load_state_dict(state); net.eval()
    out = np.full((len(X), len(data.tags)), -1e4, np.float32)
    with torch.no_grad(): out[:, seen] = net(Xt).numpy()
    return out

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('path', nargs='?', default='runs/demo'); ap.add_argument('--withhold', type=float, default=0.3)
    a = ap.parse_args(); t0 = time.time()
    data = load_match_data(a.path)
    cfg = TrainConfig(withhold=a.withhold)
    held = withheld_images(data, a.withhold); train = data.valid & ~held
    W, R = np.flatnonzero(held), np.flatnonzero(train & np.array([len(t) > 0 for t in data.item_tags]))
    LW, LR = labels(data, W), labels(data, R)
    q = np.flatnonzero(data.found & LR.any(0) & (LW.sum(0) >= 3))
    mAP = lambda s: round(summarise(ranking_metrics(s[:, q], LW[:, q]))['ap'], 4)
    res = {}
    model, _ = fit(data, cfg, progress=False); rk = model.ranking
    E = embed_rows(model, data, np.arange(len(data.ids))).numpy()
    with torch.no_grad(): Q = model.embed_texts(torch.as_tensor(data.vecs)).numpy()
    text = E[W] @ Q.T
    nb, sims = nearest_evidence(data.feats, W, R, k=20)
    u = np.unique(nb[nb >= 0]); nbu = np.where(nb >= 0, np.searchsorted(u, nb), -1); Lu = labels(data, u)
    res['baseline: tag prototypes (raw CNN)'] = mAP(unit_rows(data.feats[W]) @ unit_rows(LR.T.astype(np.float32) @ unit_rows(data.feats[R])).T)
    res[f"baseline: kNN label transfer (raw CNN, k={rk['knn_k']} from validation)"] = mAP(knn_votes(nbu, sims, Lu, rk['knn_k']))
    res['objective: hinge, hardest negative (default), learned space alone'] = mAP(text)
    for name, emb in (('objective: multi-positive InfoNCE, learned temperature', False), ('objective: InfoNCE + learned tag embeddings', True)):
        Ei, Qi = infonce(data, cfg, tag_emb=emb); res[name + ', learned space alone'] = mAP(Ei[W] @ Qi.T)
    P = unit_rows(LR.T.astype(np.float32) @ E[R])
    for w in (0.5, 1., 2.): res[f'evidence: query + {w:g} x tag prototype (learned space)'] = mAP(E[W] @ unit_rows(Q + w * P).T)
    res[f"evidence: + nearest tagged images' vote, raw CNN (shipped: k={rk['k']}, beta={rk['beta']:g} from validation)"] = mAP(fuse(text, knn_votes(nbu, sims, Lu, rk['k']), rk['k'], rk['beta']))
    nl, sl = nearest_evidence(E, W, R, k=20); ul = np.unique(nl[nl >= 0]); nlu = np.where(nl >= 0, np.searchsorted(ul, nl), -1)
    res[f"evidence: + vote in the learned space (k={rk['k']}, beta={rk['beta']:g})"] = mAP(fuse(text, knn_votes(nlu, sl, labels(data, ul), rk['k']), rk['k'], rk['beta']))
    rows = np.flatnonzero(data.valid); pos = np.searchsorted(rows, W)
    seeds = np.zeros((len(rows), len(data.tags)), np.float32); seeds[np.searchsorted(rows, R)] = LR
    lp = propagate(data.feats, rows, seeds)[pos]
    res['evidence: label propagation alone (raw CNN kNN graph of all images)'] = mAP(lp)
    base = fuse(text, knn_votes(nbu, sims, Lu, rk['k']), rk['k'], rk['beta'])
    for w in (1., 4.): res[f'evidence: shipped fusion + {w:g} x label propagation'] = mAP(base + w * lp)
    cos = [text]
    for s in (1, 2):  # the same withheld images, other model seeds
        ms, _ = fit(replace(data, item_tags=[np.zeros(0, np.int64) if h else t for t, h in zip(data.item_tags, held)]), replace(cfg, withhold=0., seed=s), progress=False)
        with torch.no_grad(): cos.append(embed_rows(ms, data, W).numpy() @ ms.embed_texts(torch.as_tensor(data.vecs)).numpy().T)
    res['ensemble: three seeds, learned space alone'] = mAP(np.mean(cos, 0))
    res['ensemble: three seeds, fused with the shipped vote'] = mAP(fuse(np.mean(cos, 0), knn_votes(nbu, sims, Lu, rk['k']), rk['k'], rk['beta']))
    perm = np.random.default_rng(0).permutation(len(R)); Rv, Rt = R[perm[:len(R) // 5]], R[perm[len(R) // 5:]]
    z = lambda s: (s - s.mean(0)) / (s.std(0) + 1e-6)
    for loss in ('softmax', 'logistic'):
        c = classifier(data, Rt, Rv, np.flatnonzero(LR.any(0)), 'softmax' if loss == 'softmax' else 'bce')[W]
        res[f'classifier: MLP on raw CNN, {loss} loss, alone'] = mAP(c)
        for w in (1., 2.): res[f'classifier: {loss} MLP, {w:g} x standardised, + shipped fusion'] = mAP(z(base) + w * z(c))
    print(f'{a.path}: {len(W)} withheld images, {len(q)} seen tags with at least 3 of them; mAP (best first), {time.time() - t0:.0f} s\n')
    print('| lever | mAP |\n|---|---|')
    for k, v in sorted(res.items(), key=lambda kv: -kv[1]): print(f'| {k} | {v:.4f} |')

if __name__ == '__main__': main()
