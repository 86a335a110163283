"""Convert an official ImageNet checkpoint of ResTv2 or ResTv1 (github.com/wofmanaf/ResT) or RMT
(github.com/qhfan/RMT) for mmpretrain.

    python tools/model_converters/convert_official_ckpt.py SRC.pth DST.pth [--weights model|ema]

The family is recognised from the keys (``patch_embed.*``/``layers.*``: RMT; ``stem.conv1.*``:
ResTv1; otherwise ``stem.*``/``stage1.*``: ResTv2).
DST holds ``state_dict`` (``backbone.*``, ``head.fc.*``, and for RMT
``neck.proj.*``/``neck.norm.*``) and loads strictly into ``configs/mmpretrain/restv2_*_in1k*.py``
(224 and 384 alike), ``configs/mmpretrain/restv1_*_8xb256_in1k.py`` or
``configs/mmpretrain/rmt_*_8xb128_in1k.py``. Detection and segmentation
configs need no conversion: their backbone's ``init_cfg`` reads official checkpoints directly.

DST's ``meta`` records the conversion: ``source_file`` (absolute path), ``source_sha256`` (of
SRC's bytes), ``weights``, ``family``, ``converter`` and ``converter_version``
(:data:`CONVERTER_VERSION`, raised whenever the key mapping changes), ``restv2_mm_version``.
"""
import argparse
import hashlib
import io
import os

import torch

import restv2_mm
from restv2_mm.cli import add_unsafe_load_arg, apply_unsafe_load
from restv2_mm.engine import AtomicLocalBackend
from restv2_mm.models import RMT, WEIGHTS, ResTv1, ResTv2, convert_official_classifier, unwrap_state_dict
from restv2_mm.utils import read_checkpoint

CONVERTER_VERSION = 2  # 1: ResTv2 only, meta without checksum; 2: RMT too, meta with SHA-256


def sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument('src', help='official checkpoint')
    parser.add_argument('dst', help='output mmpretrain checkpoint')
    parser.add_argument('--weights', choices=WEIGHTS, default='model',
                        help="the raw weights ('model', default, as the official chain uses) or "
                             "the EMA ('ema', official 'model_ema')")
    add_unsafe_load_arg(parser)
    args = parser.parse_args(argv)
    apply_unsafe_load(args)
    if os.path.abspath(args.src) == os.path.abspath(args.dst):
        raise ValueError('dst must differ from src (the source is never overwritten)')
    checkpoint = read_checkpoint(args.src)
    keys = list(unwrap_state_dict(checkpoint, args.weights))
    # ResTv1 before ResTv2: its prefixes are the narrower (both start stem.*).
    family = next((cls for cls in (RMT, ResTv1, ResTv2) if any(k.startswith(cls.official_prefixes)
                                                               for k in keys)), ResTv2)
    state = convert_official_classifier(checkpoint, family, args.weights)
    buffer = io.BytesIO()
    meta = dict(source_file=os.path.abspath(args.src), source_sha256=sha256(args.src),
                weights=args.weights, family=family.__name__, converter=os.path.basename(__file__),
                converter_version=CONVERTER_VERSION, restv2_mm_version=restv2_mm.__version__)
    torch.save({'state_dict': state, 'meta': meta}, buffer)
    AtomicLocalBackend().put(buffer.getvalue(), args.dst)  # never a half-written file
    print(f'{args.dst}: {len(state)} tensors '
          f'({sum(v.numel() for v in state.values()) / 1e6:.2f}M parameters), {family.__name__} '
          f"{args.weights} weights; source sha256 {meta['source_sha256']}")


if __name__ == '__main__':
    main()
