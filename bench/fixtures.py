"""Fixtures of the benchmarks (and of the vector index's tests): data shaped like a real collection's, made up, and
the one way the benchmarks time a call.

`synthetic_vectors` stands in for a collection of millions of images: see `bench/search.py`, which fits its parameters
to the demo collection's projected images."""
import time
from types import SimpleNamespace
import numpy as np
from imgsearch.evidence import unit_rows

def synthetic_vectors(n, # images
                      d=128, # dimensions
                      n_tags=1000, # tags (clusters); sizes follow Zipf's law
                      rank=20, # dimension of the subspace holding the tag centres
                      offset=0.25, # length of a direction all centres share (a trained space is not centred)
                      noise=0.35, # spread of images around their tag's centre
                      query_noise=1.2, # spread of queries around their tag's centre (text vectors lie further out)
                      n_queries=200, # query vectors, each near a random tag's centre
                      isotropic=False, # plain random unit vectors instead (no structure at all)
                      seed=0): # seeds everything
    "A synthetic collection: `vectors` [n, d], each row's `tag`, and `queries` with their `query_tags`."
    rng = np.random.default_rng(seed)
    basis = np.linalg.qr(rng.standard_normal((d, rank + 1)))[0].T.astype(np.float32)
    centres = unit_rows(offset * basis[0] + unit_rows(rng.standard_normal((n_tags, rank), dtype=np.float32)) @ basis[1:])
    p = 1 / (np.arange(n_tags) + 10.); tag = rng.choice(n_tags, n, p=p / p.sum())
    X, qt = np.empty((n, d), np.float32), rng.integers(n_tags, size=n_queries)
    spread = lambda c, s: unit_rows(c + s * rng.standard_normal(c.shape, dtype=np.float32) / np.sqrt(d)) if not isotropic else unit_rows(rng.standard_normal(c.shape, dtype=np.float32))
    for lo in range(0, n, 200_000): X[lo:lo + 200_000] = spread(centres[tag[lo:lo + 200_000]], noise)
    return SimpleNamespace(vectors=X, tag=tag, queries=spread(centres[qt], query_noise).astype(np.float32), query_tags=qt)

def timed(f, items, warm=5):
    "Seconds per call of f(item) for each item, after `warm` untimed calls."
    for x in items[:warm]: f(x)
    out = []
    for x in items:
        t = time.perf_counter(); f(x); out.append(time.perf_counter() - t)
    return np.array(out)
