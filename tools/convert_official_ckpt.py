"""Convert an official ResTv2 ImageNet checkpoint (github.com/wofmanaf/ResT) for mmpretrain.

    python tools/convert_official_ckpt.py SRC.pth DST.pth

DST holds ``state_dict`` (``backbone.*`` + ``head.fc.*``) and loads strictly into
``configs/mmpretrain/restv2_*_in1k*.py`` (224 and 384 alike). Detection and segmentation configs
need no conversion: their backbone's ``init_cfg`` reads official checkpoints directly.
"""
import argparse
import io
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch  # noqa: E402

from restv2_mm.engine import AtomicLocalBackend  # noqa: E402
from restv2_mm.models.backbones import convert_official_classifier, read_checkpoint  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument('src', help='official checkpoint')
    parser.add_argument('dst', help='output mmpretrain checkpoint')
    args = parser.parse_args(argv)
    if os.path.abspath(args.src) == os.path.abspath(args.dst):
        raise ValueError('dst must differ from src (the source is never overwritten)')
    state = convert_official_classifier(read_checkpoint(args.src))
    buffer = io.BytesIO()
    torch.save({'state_dict': state, 'meta': {'converted_from': os.path.abspath(args.src)}}, buffer)
    AtomicLocalBackend().put(buffer.getvalue(), args.dst)  # never a half-written file
    print(f'{args.dst}: {len(state)} tensors '
          f'({sum(v.numel() for v in state.values()) / 1e6:.2f}M parameters)')


if __name__ == '__main__':
    main()
