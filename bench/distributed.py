"""Benchmark of the image step on Ray (imgsearch.distributed) against the single-machine step, run by hand, not a test.

On the same images and backbone it measures, in this order:
  (a) embed_images: the single-machine step (DataLoader workers, torch's default threads);
  (b) embed_images_ray: the Ray Data job on a Ray instance started here (or the cluster at --address),
      timed from the call to the last shard, so the actors' start-up is included; Ray's own start-up is shown apart;
and checks that both wrote the same features (max abs difference; 0 when the actors run as many torch threads).

    .venv/bin/python bench/distributed.py --n 256
    .venv/bin/python bench/distributed.py --n 20000 --address auto --folder /shared/photos   # on a cluster
"""
import os, shutil, sys, tempfile, time
from pathlib import Path
import numpy as np, torch
sys.path.insert(0, str(Path(__file__).parent))
from image_step import make_photos, find_images, image_args
from imgsearch.data import Collection, Item
from imgsearch.backbone import load_backbone
from imgsearch.shards import load_image_features
from imgsearch.image import embed_images
from imgsearch.distributed import embed_images_ray

def main():
    ap = image_args(__doc__)
    ap.add_argument('--folder', default=None, help='take images from this folder (default: generated JPEG photos)')
    ap.add_argument('--address', default=None, help="Ray cluster to join (e.g. auto); default: a local Ray started here")
    ap.add_argument('--actors', type=int, default=None, help='model actors (default: embed_images_ray\'s plan)')
    ap.add_argument('--cpus-per-actor', type=float, default=None, help='CPUs (torch threads) per actor')
    ap.add_argument('--skip-single', action='store_true', help='do not run (a) (e.g. a collection too large for one machine)')
    a = ap.parse_args()
    import ray
    tmp = Path(tempfile.mkdtemp())
    try:
        files = find_images(a.folder, a.n) if a.folder else make_photos(tmp, a.n)
        coll = Collection([Item(id=f'{i}', path=str(p)) for i, p in enumerate(files)], name='bench')
        bb = load_backbone(a.backbone, a.weights, device='cpu')
        kw = dict(batch_size=a.batch_size, shard_size=a.batch_size * 8, progress=False)
        print(f'load average before: {os.getloadavg()[0]:.2f}; {len(files)} images; {a.backbone}; batch {a.batch_size}; '
              f'{os.cpu_count()} cores here')
        if not a.skip_single:
            t = time.perf_counter(); r1 = embed_images(coll, tmp/'single', bb, **kw); s1 = time.perf_counter() - t
            print(f'(a) embed_images      {len(files) / s1:7.1f} images/s ({s1:.1f} s; torch threads {torch.get_num_threads()})')
        t = time.perf_counter()
        ray.init(address=a.address, include_dashboard=False, log_to_driver=False)
        print(f'    Ray start-up        {time.perf_counter() - t:7.1f} s ({ray.cluster_resources().get("CPU", 0):g} CPUs, '
              f'{ray.cluster_resources().get("GPU", 0):g} GPUs)')
        t = time.perf_counter()
        r2 = embed_images_ray(coll, tmp/'ray', bb, num_actors=a.actors, num_cpus_per_actor=a.cpus_per_actor, **kw)
        s2 = time.perf_counter() - t
        print(f'(b) embed_images_ray  {len(files) / s2:7.1f} images/s ({s2:.1f} s with the actors\' start-up; '
              f'{r2["actors"]} actors x {r2["cpus_per_actor"]:g} CPUs, {r2["gpus_per_actor"]:g} GPUs; stages {r2["stages"]})')
        ray.shutdown()
        if not a.skip_single:
            f1, f2 = load_image_features(tmp/'single')[0], load_image_features(tmp/'ray')[0]
            print(f'features: max abs difference {float(np.abs(f1 - f2).max()):.3g}; '
                  f'same skipped rows: {r1["skipped"] == r2["skipped"]}; ray / single = {s1 / s2:.2f}')
        print(f'load average after: {os.getloadavg()[0]:.2f} (other processes on the machine skew every number)')
    finally: shutil.rmtree(tmp, ignore_errors=True)

if __name__ == '__main__': main()
