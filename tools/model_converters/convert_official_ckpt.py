"""Convert an official ImageNet checkpoint of ResTv2 (github.com/wofmanaf/ResT) or RMT
(github.com/qhfan/RMT) for mmpretrain.

    python tools/model_converters/convert_official_ckpt.py SRC.pth DST.pth [--weights model|ema]

The family is recognised from the keys (``stem.*``/``stage1.*``: ResTv2; ``patch_embed.*``/
``layers.*``: RMT). DST holds ``state_dict`` (``backbone.*``, ``head.fc.*``, and for RMT
``neck.proj.*``/``neck.norm.*``) and loads strictly into ``configs/mmpretrain/restv2_*_in1k*.py``
(224 and 384 alike) or ``configs/mmpretrain/rmt_*_8xb128_in1k.py``. Detection and segmentation
configs need no conversion: their backbone's ``init_cfg`` reads official checkpoints directly.
"""
import argparse
import io
import os

import torch

from restv2_mm.engine import AtomicLocalBackend
from restv2_mm.models import RMT, ResTv2
from restv2_mm.models.utils import WEIGHTS, convert_official_classifier, unwrap_state_dict
from restv2_mm.utils import read_checkpoint


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument('src', help='official checkpoint')
    parser.add_argument('dst', help='output mmpretrain checkpoint')
    parser.add_argument('--weights', choices=WEIGHTS, default='model',
                        help="the raw weights ('model', default, as the official chain uses) or "
                             "the EMA ('ema', official 'model_ema')")
    args = parser.parse_args(argv)
    if os.path.abspath(args.src) == os.path.abspath(args.dst):
        raise ValueError('dst must differ from src (the source is never overwritten)')
    checkpoint = read_checkpoint(args.src)
    keys = list(unwrap_state_dict(checkpoint, args.weights))
    family = next((cls for cls in (RMT, ResTv2) if any(k.startswith(cls.official_prefixes)
                                                       for k in keys)), ResTv2)
    state = convert_official_classifier(checkpoint, family, args.weights)
    buffer = io.BytesIO()
    torch.save({'state_dict': state, 'meta': {'converted_from': os.path.abspath(args.src)}}, buffer)
    AtomicLocalBackend().put(buffer.getvalue(), args.dst)  # never a half-written file
    print(f'{args.dst}: {len(state)} tensors '
          f'({sum(v.numel() for v in state.values()) / 1e6:.2f}M parameters)')


if __name__ == '__main__':
    main()
