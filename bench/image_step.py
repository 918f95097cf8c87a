"""Benchmark of the image-feature step (imgsearch.decode, imgsearch.backbone, imgsearch.image), run by hand, not a test.

In one run, for one backbone and one set of images, it measures:
  (a) bare: the network's forward pass alone on the same batches, decoded and cropped in advance, in both
      runtimes: PyTorch (normalised float tensors, channels_last, inference_mode) and ONNX Runtime (the
      exported network, which takes the uint8 crops and normalises them itself, CPU provider), each at 1 thread
      and at the default (all cores) in this process, and ONNX Runtime in one process per core at 1 thread each,
      all running the same batches at once (the machine's whole throughput); the best one is the reference;
  (b) pipeline: `embed_images` end to end (decode, preprocess, forward, write shards), for each
      `--configs` entry (worker processes : compute threads; with ONNX Runtime each worker decodes and runs the
      network with that many threads, 0 workers: everything in this process) on the chosen `--runtime`;
  (c) one at a time: the seed's way, decode + preprocess + one forward pass per image (torch's
      default threads and memory format; also shown with our channels_last model);
and prints pipeline / bare of the fastest runtime (goal >= 0.85) and pipeline / one-at-a-time (goal >= 3x).
(a) and (b) alternate over `--rounds`, so a burst of load from elsewhere hits both; medians are reported.

    .venv/bin/python bench/image_step.py --backbone efficientnet_lite0 --n 2048
    .venv/bin/python bench/image_step.py --backbone resnet50 --random-weights --configs 2:1 1:2 0:2

Results on a shared 2-core CPU machine (no GPU). They are what the notebooks' design choices rest on; rerun the
bench on your own machine before relying on them there.

Decoding (`imgsearch.decode`): `load_pixels` against PIL's road (`load_image` + `Crop`), one process, one core:
decode + resize + centre crop to 224 px, best of two passes, load average about 0.6 (take +-20%):

| images | interpolation | PIL (`load_image` + `Crop`) | `load_pixels` | largest pixel difference |
|---|---|---|---|---|
| 64 generated JPEG photos (`make_photos` below, median 497 x 423) | bicubic | 543 img/s | 679 img/s (1.25x) | 6 levels (3 values in 100,000 differ by more than 1) |
| the same | bilinear | 649 | 727 (1.12x) | 1 level |
| first 256 openclipart PNGs (204 RGBA, 19 LA, 33 palette + transparency) | bicubic | 276 | 271 (PIL's road) | 0 |
| 8 JPEGs of 1600 x 1200 | bicubic | 276 | 273 (PIL's road) | 0 |
| 8 JPEGs of 3000 x 2000 | bicubic | 109 | 109 (PIL's road) | 0 |

Why the roads are split where they are: torchvision decoding a 1600 x 1200 JPEG in full ran at 149 img/s against
PIL's 269 with `draft`, 54 against 107 at 3000 x 2000; decoding RGBA/LA PNGs with torchvision and compositing with
PIL measured a tie with PIL alone (271 vs 276 img/s), and compositing in torch was 3x slower than PIL's
`alpha_composite`. The speed-up is much smaller than the 1.6-1.8x that torchvision.io has been measured to gain
over PIL on this kind of machine: that compared against PIL resizing the whole image; `Crop` already resizes only
the crop's box and uses `draft`.

The image step (`imgsearch.image.embed_images`): 2 cores, load average 0.7-1.8 (the bench itself), images/s,
medians of 2 rounds; the ratios are to ONNX Runtime's bare forward pass on the same batches, decoded in advance:
of one process (2 threads; the best one-process figure) and of one one-thread process per core running at once
(the machine's whole ONNX Runtime throughput):

| backbone, images | bare: ONNX Runtime 1 process, 2 threads / 2 processes x 1 thread (PyTorch 2 threads) | default: 2 workers x 1 thread | all in the main process, 2 threads |
|---|---|---|---|
| EfficientNet-Lite0, 2,048 openclipart PNGs | 134.6 / 155.7 (60.2) | 123.6 (0.92 / 0.79) | 102.1 (0.76 / 0.66) |
| EfficientNet-Lite0, 1,536 generated JPEG photos | 142.6 / 163.1 (63.9) | 134.8 (0.95 / 0.83) | |
| ResNet50 (random weights), 512 openclipart PNGs | 43.1 / 42.4 (21.2) | 37.5 (0.87 / 0.87) | 36.3 (0.84 / 0.84) |

A job of one batch runs in the main process because starting a worker took 0.2 s more than it saved for 20
images. The alternatives to one worker per core are slower: decoding in one worker while the main process runs
the network with two threads, or all of it in the main process (`num_workers=0`), loses the cores' time to ONNX
Runtime's intra-op synchronisation (its bare speed with two threads in one process is 0.86-0.87 of two one-thread
processes' for EfficientNet-Lite0) and to the hand-offs between decoding and computing.

What is left is decoding: each image is decoded once, on one core, and that time is not the network's. An
openclipart PNG (most with transparency) costs about 3.8 core-ms (inflating 1.3, compositing on white 1.0,
resizing 1.3, the rest reading and copying; first 256 files, one core) against about 12.8 core-ms of
EfficientNet-Lite0 in ONNX Runtime, so two workers can reach about 0.8 of two bare one-thread sessions and no
more; JPEG photos decode faster (draft mode) and ResNet50 costs almost 4x more per image, so both come closer.
Faster roads were measured and left out: OpenCV's PNG decoder was no faster than PIL's (1.35 against 1.23 ms);
torch's resize after PIL's compositing saved 0.36 ms per PNG but moved features by up to 4.4e-3 of their norm
(cosine 0.9996), and compositing after a premultiplied resize moved them much more. Small jobs pay a fixed start
(each worker forks and warms its session up), so a 256-image run measures about 94 images/s where 2,048 images
give 122.
"""
import argparse, dataclasses, multiprocessing as mp, os, shutil, tempfile, time
from pathlib import Path
import numpy as np, torch
from PIL import Image
from imgsearch.data import Collection, Item
from imgsearch.decode import load_image, load_pixels
from imgsearch.backbone import load_backbone
from imgsearch.image import embed_images

from imgsearch.demo import default_cache, SYSTEM_ROOT
# the demo collection's drawings, where `imgsearch-build demo` (or the system package) put them
CLIPART = next((p/'png' for p in (Path(SYSTEM_ROOT), default_cache()) if (p/'png').is_dir()), Path('/nonexistent'))
EXTS = {'.jpg', '.jpeg', '.png', '.webp', '.gif', '.bmp', '.tif', '.tiff'}

def find_images(folder, n):
    "The first `n` image files under `folder` (sorted, symlinks skipped)."
    files = sorted(p for p in Path(folder).rglob('*') if p.suffix.lower() in EXTS and p.is_file() and not p.is_symlink())
    if len(files) < n: raise SystemExit(f'only {len(files)} images under {folder}, asked for {n}')
    return files[:n]

def make_photos(folder, n, seed=0):
    "`n` JPEG photos of assorted sizes cut from scikit-image's sample photos."
    from skimage import data
    srcs = [getattr(data, k)() for k in ('chelsea', 'coffee', 'astronaut', 'rocket', 'immunohistochemistry', 'camera')]
    srcs = [Image.fromarray(a).convert('RGB') for a in srcs]
    rng = np.random.default_rng(seed)
    files = []
    for i in range(n):
        im = srcs[i % len(srcs)]
        w, h = im.size
        cw, ch = int(w * rng.uniform(.5, 1)), int(h * rng.uniform(.5, 1))
        x, y = rng.integers(0, w - cw + 1), rng.integers(0, h - ch + 1)
        s = rng.uniform(.5, 2)
        im2 = im.crop((x, y, x + cw, y + ch)).resize((max(1, int(cw * s)), max(1, int(ch * s))))
        files.append(Path(folder)/f'photo{i:04d}.jpg'); im2.save(files[-1], quality=90)
    return files

def image_args(doc):
    "An argument parser with the options every image-step bench takes: backbone, weights, image count, batch size."
    ap = argparse.ArgumentParser(description=doc.split('\n')[0])
    ap.add_argument('--backbone', default='efficientnet_lite0', help='efficientnet_lite0 or resnet50')
    ap.add_argument('--weights', default=None, help='state dict .pth for the backbone')
    ap.add_argument('--n', type=int, default=1024, help='number of images (small runs understate the pipeline: each worker starts inside the clock)')
    ap.add_argument('--batch-size', type=int, default=32, help='images per forward pass')
    return ap

def main():
    ap = image_args(__doc__)
    ap.add_argument('--runtime', default='auto', help="embed_images' runtime: auto, onnx or torch")
    ap.add_argument('--configs', nargs='+', default=['default'],
                    help="pipeline settings to compare, WORKERS:THREADS each (worker processes : compute threads), or 'default'")
    ap.add_argument('--random-weights', action='store_true', help='resnet50 with random weights (none install offline; speed only)')
    ap.add_argument('--no-one', action='store_true', help='skip the one-at-a-time measurement (c)')
    ap.add_argument('--folder', default=None, help='take images from this folder (default: openclipart PNGs if unpacked, else generated JPEGs)')
    ap.add_argument('--photos', action='store_true', help='use generated JPEG photos even if openclipart is there')
    ap.add_argument('--rounds', type=int, default=3, help='alternating (a)/(b) measurements; medians are reported')
    ap.add_argument('--one-n', type=int, default=64, help='images for the one-at-a-time measurement')
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    try:
        if a.folder: files, src = find_images(a.folder, a.n), a.folder
        elif CLIPART.is_dir() and not a.photos: files, src = find_images(CLIPART, a.n), str(CLIPART)
        else: files, src = make_photos(tmp, a.n), 'generated JPEG photos'
        coll = Collection([Item(id=f'{i}', path=str(p)) for i, p in enumerate(files)], name='bench')
        weights = a.weights
        if a.random_weights:
            if a.backbone != 'resnet50': raise SystemExit('--random-weights is for resnet50 only')
            import torchvision
            torch.manual_seed(0); weights = tmp/'resnet50_random.pth'
            torch.save(torchvision.models.resnet50().state_dict(), weights)
        cache = tmp/'onnx'  # a fresh export, so that the bench measures this code's network
        bb = load_backbone(a.backbone, weights, runtime=a.runtime, cache=cache)
        bt = load_backbone(a.backbone, weights, runtime='torch')
        bo = load_backbone(a.backbone, weights, runtime='onnx', cache=cache) if bb.device.type == 'cpu' else None
        default_threads = torch.get_num_threads()
        print(f'load average before: {os.getloadavg()[0]:.2f}')
        print(f'{len(files)} images from {src}; backbone {a.backbone}{" (random weights)" if a.random_weights else ""} '
              f'on {bb.device}, runtime {bb.runtime}; {os.cpu_count()} cores, torch threads {default_threads}; batch {a.batch_size}')
        # (a) bare forward pass on batches prepared in advance
        crops = [torch.from_numpy(load_pixels(p, bb.crop, draft=bb.preprocessing['jpeg_draft']).copy()) for p in files]
        u8 = [torch.stack(crops[i:i + a.batch_size]) for i in range(0, len(crops), a.batch_size)]
        xs = [bt.to_input(x) for x in u8]
        xo = [x.numpy() for x in u8]
        def clock(f, xs):
            f(xs[0])  # warm-up
            t = time.perf_counter()
            for x in xs: f(x)
            if bb.device.type == 'cuda': torch.cuda.synchronize()
            return len(files) / (time.perf_counter() - t)
        threads = sorted({1, default_threads}) if bb.device.type == 'cpu' else [default_threads]
        sessions = {nt: dataclasses.replace(bo, threads=nt).session for nt in threads} if bo else {}
        def procs_bare(n):
            "images/s of `n` processes each running every batch through a 1-thread ONNX Runtime session, all at once."
            ctx = mp.get_context('fork')
            go, q = ctx.Barrier(n + 1), ctx.Queue()
            def one():
                s = dataclasses.replace(bo, threads=1).session
                s.run(None, {'input': xo[0]})
                go.wait(); t = time.perf_counter()
                for x in xo: s.run(None, {'input': x})
                q.put(time.perf_counter() - t)
            ps = [ctx.Process(target=one) for _ in range(n)]
            for p in ps: p.start()
            go.wait()
            secs = [q.get() for _ in ps]
            for p in ps: p.join()
            return n * len(files) / max(secs)
        def run_bare():
            "images/s of each runtime at each thread count (1 and the default) on the prepared batches."
            res = {}
            with torch.inference_mode():
                for nt in threads:
                    torch.set_num_threads(nt)
                    res[f'torch {nt}'] = clock(bt.model, xs)
            torch.set_num_threads(default_threads)
            for nt, s in sessions.items(): res[f'onnx {nt}'] = clock(lambda x: s.run(None, {'input': x}), xo)
            if bo and default_threads > 1: res[f'onnx {default_threads}x1'] = procs_bare(default_threads)
            return res
        def run_pipeline(cfg):
            w, t = (None, None) if cfg == 'default' else map(int, cfg.split(':'))
            r = embed_images(coll, tmp/'image', bb, batch_size=a.batch_size, shard_size=a.batch_size * 8,
                             num_workers=w, threads=t, progress=False, overwrite=True)
            return r['images_per_s'], len(r['skipped'])
        fastest = 'onnx' if bo else 'torch'
        def best(b, procs=True):
            "The fastest bare figure of the fastest runtime: of all, or of one process (procs=False)."
            return max(v for k, v in b.items() if k.startswith(fastest) and (procs or not k.endswith('x1')))
        rounds = []
        for i in range(a.rounds):
            b = run_bare()
            ps = {cfg: run_pipeline(cfg) for cfg in a.configs}
            n_skipped = next(iter(ps.values()))[1]
            rounds.append((b, {cfg: p for cfg, (p, _) in ps.items()}))
            print(f'round {i}: bare ' + ', '.join(f'{k} threads {v:.1f}' for k, v in b.items()) + '; pipeline ' +
                  ', '.join(f'{cfg} {p:.1f} ({p / best(b):.2f})' for cfg, (p, _) in ps.items()) + f'; load {os.getloadavg()[0]:.2f}')
        bare_by = {k: float(np.median([b[k] for b, _ in rounds])) for k in rounds[0][0]}
        bare = float(np.median([best(b) for b, _ in rounds]))
        pipes = {cfg: float(np.median([p[cfg] for _, p in rounds])) for cfg in a.configs}
        ratios = {cfg: float(np.median([p[cfg] / best(b) for b, p in rounds])) for cfg in a.configs}
        ratios1 = {cfg: float(np.median([p[cfg] / best(b, False) for b, p in rounds])) for cfg in a.configs}
        top = max(ratios, key=ratios.get)
        pipe, ratio = pipes[top], ratios[top]
        def report():
            print('(a) bare forward pass        ' + ', '.join(f'{k} threads {v:.1f}' for k, v in bare_by.items()) + ' images/s (medians)')
            print(f'    fastest: {fastest}         {bare:7.1f} images/s  (median of {a.rounds} rounds, best of all arrangements)')
            for cfg in a.configs:
                print(f'(b) embed_images {cfg:>8s}    {pipes[cfg]:7.1f} images/s  pipeline / bare {fastest}: {ratios1[cfg]:5.2f} of one process, '
                      f'{ratios[cfg]:5.2f} of all arrangements (medians of {a.rounds} rounds; {n_skipped} skipped)')
        if a.no_one:
            print(f'load average after: {os.getloadavg()[0]:.2f}')
            report()
            return
        # (c) the seed's way: one image per forward pass, the plain torchvision transform on the whole
        #     image, the model in PyTorch's default (contiguous) memory format, default threads
        import copy, torchvision.transforms as T
        pre = bb.preprocessing
        tf = T.Compose([T.Resize(pre['resize'], interpolation=T.InterpolationMode(pre['interpolation'])),
                        T.CenterCrop(pre['crop']), T.ToTensor(), T.Normalize(pre['mean'], pre['std'])])
        seed_model = copy.deepcopy(bb.model).to(memory_format=torch.contiguous_format)
        m = min(a.one_n, len(files))
        ones = {}
        with torch.inference_mode():
            for name, f in [('seed', lambda im: seed_model(tf(im)[None].to(bb.device)).cpu()),
                            ('ours', lambda im: bb.embed(torch.from_numpy(bb.crop(im).copy())[None]))]:
                f(load_image(files[0]))  # warm-up
                t = time.perf_counter()
                for p in files[:m]: f(load_image(p))
                ones[name] = m / (time.perf_counter() - t)
        one = ones['seed']
        print(f'load average after: {os.getloadavg()[0]:.2f} (other processes on the machine skew every number)')
        report()
        print(f'(c) one image per forward    {one:7.1f} images/s  (the seed\'s way: contiguous model, whole-image transform; {m} images)')
        print(f'    one image per forward    {ones["ours"]:7.1f} images/s  (same, with our crop and runtime {bb.runtime})')
        print(f'pipeline / bare          = {ratio:5.2f} of all arrangements, {ratios1[top]:5.2f} of one process '
              f'({top}: median of the rounds\' ratios; goal >= 0.85)')
        print(f'pipeline / one-at-a-time = {pipe / one:5.2f}x (goal >= 3x)')
    finally: shutil.rmtree(tmp, ignore_errors=True)

if __name__ == '__main__': main()
