"""Benchmark of the image-feature step (imgsearch.image), run by hand, not a test.

In one run, for one backbone and one set of images, it measures:
  (a) bare: the network's forward pass alone on the same batches, preprocessed in advance
      (float tensors, channels_last, inference_mode, torch's default thread count);
  (b) pipeline: `embed_images` end to end (decode, preprocess, forward, write shards);
  (c) one at a time: the seed's way, decode + preprocess + one forward pass per image (torch's
      default threads and memory format; also shown with our channels_last model);
and prints pipeline/bare (goal >= 0.85) and pipeline/one-at-a-time (goal >= 3x).

    .venv/bin/python bench/image_step.py --backbone efficientnet_lite0 --n 256
"""
import argparse, os, shutil, tempfile, time
from pathlib import Path
import numpy as np, torch
from PIL import Image
from imgsearch.data import Collection, Item
from imgsearch.image import load_backbone, load_image, embed_images

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
    ap.add_argument('--n', type=int, default=256, help='number of images')
    ap.add_argument('--batch-size', type=int, default=32, help='images per forward pass')
    return ap

def main():
    ap = image_args(__doc__)
    ap.add_argument('--workers', type=int, default=None, help="embed_images' num_workers (default: its own)")
    ap.add_argument('--threads', type=int, default=None, help="embed_images' torch threads (default: its own)")
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
        bb = load_backbone(a.backbone, a.weights)
        print(f'load average before: {os.getloadavg()[0]:.2f}')
        print(f'{len(files)} images from {src}; backbone {a.backbone} on {bb.device}; '
              f'{os.cpu_count()} cores, torch threads {torch.get_num_threads()}; batch {a.batch_size}')
        # (a) bare forward pass on batches prepared in advance
        crops = [torch.from_numpy(bb.crop(load_image(p, draft=bb.preprocessing['jpeg_draft'])).copy()) for p in files]
        xs = [bb.to_input(torch.stack(crops[i:i + a.batch_size])) for i in range(0, len(crops), a.batch_size)]
        def run_bare():
            "Best images/s over torch thread counts (1 and the default) on the prepared batches."
            res = {}
            with torch.inference_mode():
                for nt in sorted({1, default_threads}) if bb.device.type == 'cpu' else [default_threads]:
                    torch.set_num_threads(nt)
                    bb.model(xs[0])  # warm-up
                    t = time.perf_counter()
                    for x in xs: bb.model(x)
                    if bb.device.type == 'cuda': torch.cuda.synchronize()
                    res[nt] = len(files) / (time.perf_counter() - t)
            torch.set_num_threads(default_threads)
            return res
        def run_pipeline():
            r = embed_images(coll, tmp/'image', bb, batch_size=a.batch_size, shard_size=a.batch_size * 8,
                             num_workers=a.workers, threads=a.threads, progress=False, overwrite=True)
            return r['images_per_s'], len(r['skipped'])
        default_threads = torch.get_num_threads()
        rounds = []  # (a) and (b) alternate, so that a burst of load from elsewhere hits both
        for i in range(a.rounds):
            b, (p, n_skipped) = run_bare(), run_pipeline()
            rounds.append((b, p))
            print(f'round {i}: bare ' + ', '.join(f'{k} threads {v:.1f}' for k, v in b.items()) +
                  f'; pipeline {p:.1f} images/s; ratio {p / max(b.values()):.2f}')
        bare = float(np.median([max(b.values()) for b, _ in rounds]))
        pipe = float(np.median([p for _, p in rounds]))
        ratio = float(np.median([p / max(b.values()) for b, p in rounds]))
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
            for name, model, prep in [('seed', seed_model, lambda im: tf(im)[None].to(bb.device)),
                                      ('ours', bb.model, lambda im: bb.transform(im)[None])]:
                model(prep(load_image(files[0])))  # warm-up
                t = time.perf_counter()
                for p in files[:m]: model(prep(load_image(p))).cpu()
                ones[name] = m / (time.perf_counter() - t)
        one = ones['seed']
        print(f'load average after: {os.getloadavg()[0]:.2f} (other processes on the machine skew every number)')
        print(f'(a) bare forward pass        {bare:7.1f} images/s  (median of {a.rounds} rounds, best thread count each)')
        print(f'(b) embed_images pipeline    {pipe:7.1f} images/s  (median of {a.rounds} rounds; {n_skipped} skipped)')
        print(f'(c) one image per forward    {one:7.1f} images/s  (the seed\'s way: contiguous model, whole-image transform; {m} images)')
        print(f'    one image per forward    {ones["ours"]:7.1f} images/s  (same, with our channels_last model and crop)')
        print(f'pipeline / bare          = {ratio:5.2f}  (median of the rounds\' ratios; goal >= 0.85)')
        print(f'pipeline / one-at-a-time = {pipe / one:5.2f}x (goal >= 3x)')
    finally: shutil.rmtree(tmp, ignore_errors=True)

if __name__ == '__main__': main()
