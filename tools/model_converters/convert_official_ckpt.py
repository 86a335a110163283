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
(``restv2_mm.apis.CONVERTER_VERSION``, raised whenever the key mapping changes),
``restv2_mm_version`` (:func:`restv2_mm.apis.convert_official_checkpoint`).
"""
import argparse
import os

import restv2_mm
from restv2_mm.apis import convert_official_checkpoint
from restv2_mm.cli import add_unsafe_load_arg, apply_unsafe_load
from restv2_mm.models import WEIGHTS


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
    state, meta = convert_official_checkpoint(args.src, args.dst, args.weights,
                                              os.path.basename(__file__), restv2_mm.__version__)
    print(f'{args.dst}: {len(state)} tensors '
          f'({sum(v.numel() for v in state.values()) / 1e6:.2f}M parameters), {meta["family"]} '
          f"{args.weights} weights; source sha256 {meta['source_sha256']}")


if __name__ == '__main__':
    main()
