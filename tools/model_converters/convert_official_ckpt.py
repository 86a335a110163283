"""Convert an official ResTv2 ImageNet checkpoint (github.com/wofmanaf/ResT) for mmpretrain.

    python tools/model_converters/convert_official_ckpt.py SRC.pth DST.pth [--weights model|ema]

DST holds ``state_dict`` (``backbone.*`` + ``head.fc.*``) and loads strictly into
``configs/mmpretrain/restv2_*_in1k*.py`` (224 and 384 alike). Detection and segmentation configs
need no conversion: their backbone's ``init_cfg`` reads official checkpoints directly.
"""
import argparse
import io
import os

import torch

from restv2_mm.engine import AtomicLocalBackend
from restv2_mm.models import ResTv2
from restv2_mm.models.utils import WEIGHTS, convert_official_classifier
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
    state = convert_official_classifier(read_checkpoint(args.src), ResTv2, args.weights)
    buffer = io.BytesIO()
    torch.save({'state_dict': state, 'meta': {'converted_from': os.path.abspath(args.src)}}, buffer)
    AtomicLocalBackend().put(buffer.getvalue(), args.dst)  # never a half-written file
    print(f'{args.dst}: {len(state)} tensors '
          f'({sum(v.numel() for v in state.values()) / 1e6:.2f}M parameters)')


if __name__ == '__main__':
    main()
