"""Cost of an incremental update (`imgsearch-update`, imgsearch.update) against the collection's size; run by hand.

For each collection size it makes a built and trained collection folder from the demo build (runs/demo): the demo's
real images, features, content records and model, replicated under new ids up to the size (the replicas point at the
same files, so no pixels are added and the content records stay true). It builds its vector index once
(`imgsearch.project.build_vector_index`, the index stage), then adds N new images (mirror images of demo drawings: content the network has not seen) and runs
`update_collection` on the collection with them, which extracts their features, rewrites the shards they land in,
refreshes the tag index and tag vectors and updates the vector index in place. Reported per update: seconds in the
network (grows with N), the rest of applying it, the plan (reading the source again, one `stat` per file), the vector
index refresh and the total; the growth of the total with the size is the part that does not depend on N.

    .venv/bin/python bench/update.py runs/demo                                # demo size and 100k, adding 20 and 200
    .venv/bin/python bench/update.py runs/demo --sizes 6885,100000,1700000 --adds 20,200 --out nbs/update_results.json
"""
import argparse, json, os, shutil, sys, tempfile, time
from pathlib import Path
import numpy as np
from PIL import Image

def replicate(demo, folder, n, dtype='float32'):
    "A built and trained collection of `n` rows made of the demo's rows repeated under new ids."
    from imgsearch.files import load_json, save_json
    from imgsearch.data import Collection, Item
    from imgsearch.tagindex import build_tag_index
    from imgsearch.text import build_text_features
    from imgsearch.layout import Layout
    from imgsearch.shards import load_image_features, write_shard, content_table, load_content, save_content
    D, F = Layout(demo), Layout(folder)
    base = Collection.load(D.collection); n0 = len(base)
    items = [base[i % n0] if i < n0 else Item(f'{base[i % n0].id}#{i // n0}', base[i % n0].path, base[i % n0].tags) for i in range(n)]
    coll = Collection(items, name=f'demo-x{n}')
    folder.mkdir(parents=True); coll.save(F.collection)
    idx = build_tag_index(coll); idx.save(F)
    build_text_features(coll, F.text, 'glove-6b-50d', index=idx)
    feats, valid = load_image_features(D.image, base)
    m = load_json(D.image.manifest); size = m['shard_size']
    F.image.folder.mkdir()
    for lo in range(0, n, size):
        rows = np.arange(lo, min(lo + size, n)) % n0
        write_shard(F.image, lo // size, feats[rows].astype(dtype), [dict(row=int(lo + j), id=items[lo + j].id, path=items[lo + j].path, reason='unreadable')
                                                            for j in np.flatnonzero(~valid[rows])])
    save_json({**m, 'dtype': dtype, 'rows': n, 'n_shards': -(-n // size), 'collection_fingerprint': coll.fingerprint(), 'skipped': int((~valid[np.arange(n) % n0]).sum())},
              F.image.manifest)
    table = load_content(D.image, base)
    if table is None: table = content_table(base)  # a demo built before content records existed
    save_content(table[np.arange(n) % n0], F.image)
    shutil.copy(D.build_report, F.build_report)
    F.models.mkdir(); shutil.copy(D.model(), F.model())
    return coll

def new_images(demo, folder, n, start):
    "`n` mirror images of demo drawings, written to `folder`, as collection items."
    from imgsearch.data import Collection, Item
    from imgsearch.layout import Layout
    base = Collection.load(Layout(demo).collection); out = []
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(start, start + n):
        it = base[(i * 37) % len(base)]
        try: im = Image.open(it.path); im.load()
        except Exception: continue
        p = folder/f'new{i}.png'; im.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(p)
        out.append(Item(f'new{i}', str(p), it.tags))
    return out

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('demo', type=Path, help='a built and trained demo collection (bash tools/start.sh --no-serve makes runs/demo)')
    ap.add_argument('--sizes', default='6885,100000', help='collection sizes (rows), comma-separated')
    ap.add_argument('--adds', default='20,200', help='images added by each update, comma-separated')
    ap.add_argument('--fp16-from', type=int, default=1_000_000, help='store features as float16 from this size up (1.7M x 1280 float32 is 8 GiB)')
    ap.add_argument('--out', type=Path, help='write the results as JSON here')
    ap.add_argument('--tmp', type=Path, default=None, help='scratch folder (default: a new temporary folder)')
    a = ap.parse_args()
    from imgsearch.data import Collection
    from imgsearch.layout import Layout
    from imgsearch.project import build_vector_index
    from imgsearch.update import update_collection
    from imgsearch.files import load_json
    tmp = Path(tempfile.mkdtemp(dir=a.tmp)); results = []
    try:
        for n in map(int, a.sizes.split(',')):
            folder = tmp/f'c{n}'
            t = time.time(); coll = replicate(a.demo, folder, n, 'float16' if n >= a.fp16_from else 'float32'); t_rep = time.time() - t
            t = time.time(); build_vector_index(folder, device='cpu'); t_proj = time.time() - t
            print(f'{n} rows: made in {t_rep:.1f} s, first projection {t_proj:.1f} s', file=sys.stderr, flush=True)
            live, start = [it for it in coll], 0
            for add in map(int, a.adds.split(',')):
                extra = new_images(a.demo, tmp/'new', add, start); start += add; live += extra
                rep = update_collection(Collection(live, name=coll.name), folder, device='cpu', progress=False)
                u, man = rep['update'], load_json(Layout(folder).index.manifest)
                s = u['seconds']
                row = dict(rows=n, made_s=round(t_rep, 1), first_projection_s=round(t_proj, 1), added=u['added'], computed=u['images_computed'], network_s=s['network'], apply_rest_s=round(s['apply'] - s['network'], 2),
                           plan_s=s['plan'], index_s=s['projection'], total_s=s['total'], shards_rewritten=u['shards_rewritten'],
                           rows_projected=man['rows_projected'], incremental_index=man['incremental'], load=round(os.getloadavg()[0], 2))
                results.append(row); print(json.dumps(row), file=sys.stderr, flush=True)
            shutil.rmtree(folder)
    finally: shutil.rmtree(tmp, ignore_errors=True)
    print('| rows | added | network s | rest of apply s | plan s | vector index s | total s | s per added image (network) | shards rewritten | rows projected |')
    print('|---|---|---|---|---|---|---|---|---|---|')
    for r in results:
        print(f"| {r['rows']:,} | {r['added']} | {r['network_s']:.2f} | {r['apply_rest_s']:.2f} | {r['plan_s']:.2f} | {r['index_s']:.2f} | {r['total_s']:.2f} | "
              f"{r['network_s'] / max(r['computed'], 1):.3f} | {r['shards_rewritten']} | {r['rows_projected']:,} |")
    if a.out: a.out.write_text(json.dumps(dict(command='python ' + ' '.join(sys.argv), date=time.strftime('%Y-%m-%d'), cpus=os.cpu_count(),
                                               results=results), indent=1))

if __name__ == '__main__': main()
