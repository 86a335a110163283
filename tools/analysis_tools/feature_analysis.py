"""The ResTv2 paper's Figure 3 (Fourier spectra) and Figure 4 (linear CKA) of the attention branch,
the Up(V) branch and their sum in every block, on a config's model and a folder of images.

    python tools/analysis_tools/feature_analysis.py CONFIG [CHECKPOINT] [--images DIR]
        [--num-images N] [--batch-size 8] [--fourier] [--cka] --out DIR [--name features]
        [--device cpu|cuda] [--seed 0] [--cfg-options k=v ...] [--unsafe-load]
    python tools/analysis_tools/feature_analysis.py --render FILE.json [--out DIR]   (its table and
        pictures again; measures nothing)

CONFIG builds the model (any mmpretrain / mmdet / mmseg config whose backbone is ResTv2 in the
global style or RMT, whose local branch is the retention's LCE; ResTv1 has no second branch);
CHECKPOINT is a whole-model checkpoint (official ones: tools/model_converters/convert_official_ckpt.py
first); without one the backbone has its random initialisation. The images (default: the
imagenet_mini folder of $RESTV2_DATA, else ../shared/data beside the checkout) go through the
config's test pipeline. Without --fourier or --cka both are measured. Writes DIR/NAME.json (the
record), DIR/NAME_fourier.png (Figure 3) and DIR/NAME_cka.png (Figure 4). See docs/analysis.md.
"""
import argparse
import os
import os.path as osp
import sys

import torch
from mmengine.config import DictAction
from mmengine.runner import load_checkpoint
from mmengine.utils import ProgressBar

import restv2_mm
from restv2_mm.analysis import (
    analyze_branches,
    image_batches,
    list_images,
    plot_cka,
    plot_spectra,
    render_branches,
)
from restv2_mm.apis import build_model, load_config
from restv2_mm.cli import add_unsafe_load_arg, apply_unsafe_load, check_whole_model_checkpoint
from restv2_mm.utils import command_line, read_json, write_json

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DATA = os.environ.get('RESTV2_DATA', osp.join(REPO, '..', 'shared', 'data'))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument('config', nargs='?')
    parser.add_argument('checkpoint', nargs='?', help='whole-model checkpoint (default: random init)')
    parser.add_argument('--images', default=osp.join(DATA, 'imagenet_mini'),
                        help='folder of images, searched recursively (default: %(default)s)')
    parser.add_argument('--num-images', type=int, help='the first N images (sorted by path)')
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--fourier', action='store_true', help='Figure 3: relative log amplitudes')
    parser.add_argument('--cka', action='store_true', help='Figure 4: linear CKA of branch pairs')
    parser.add_argument('--out', help='folder for NAME.json, NAME_fourier.png, NAME_cka.png')
    parser.add_argument('--name', default='features', help='file name stem (default: %(default)s)')
    parser.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    parser.add_argument('--seed', type=int, default=0, help='of the random initialisation (default: 0)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override settings, key=value')
    parser.add_argument('--render', metavar='FILE.json',
                        help='measure nothing: print the table of a record (with --out, draw its pictures)')
    add_unsafe_load_arg(parser)
    args = parser.parse_args(argv)
    if args.render:
        return args
    if not args.config or not args.out:
        parser.error('give CONFIG and --out DIR (or --render FILE.json)')
    if args.checkpoint and not osp.isfile(args.checkpoint):
        parser.error(f'CHECKPOINT: no file {args.checkpoint!r}')
    if args.batch_size < 1:
        parser.error(f'--batch-size must be >= 1, got {args.batch_size}')
    if args.num_images is not None and args.num_images < 1:
        parser.error(f'--num-images must be >= 1, got {args.num_images}')
    if osp.sep in args.name or not args.name:
        parser.error(f'--name must be a file name stem, got {args.name!r}')
    if args.device == 'cuda' and not torch.cuda.is_available():
        parser.error('--device cuda: CUDA is not available on this machine')
    if not (args.fourier or args.cka):
        args.fourier = args.cka = True
    return args


def draw(record, out, fourier, cka):
    """The record's pictures: OUT_fourier.png (Figure 3) and OUT_cka.png (Figure 4)."""
    if fourier and 'fourier' in record:
        plot_spectra(record, out + '_fourier.png')
    if cka and 'cka' in record:
        plot_cka(record, out + '_cka.png')
    print(f'pictures: {out}_*.png')


def main(argv=None):
    args = parse_args(argv)
    if args.render:  # with --out, its pictures again (DIR/<FILE's name>_*.png)
        record = read_json(args.render, required=('blocks', 'local'))
        sys.stdout.write(render_branches(record))
        if args.out:
            draw(record, osp.join(args.out, osp.splitext(osp.basename(args.render))[0]), True, True)
        return record
    apply_unsafe_load(args)
    paths = list_images(args.images, args.num_images)
    cfg = load_config(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    torch.manual_seed(args.seed)
    model = build_model(cfg, name=args.config)
    if args.checkpoint:
        check_whole_model_checkpoint(args.checkpoint, cfg)
        load_checkpoint(model, args.checkpoint, map_location='cpu', strict=True)
    else:
        model.init_weights()  # the backbone's own random initialisation, not PyTorch's default
    model.to(args.device).eval()
    if not hasattr(model, 'backbone'):
        raise ValueError(f'{args.config}: the model has no backbone to analyse')
    bar = ProgressBar(len(paths))
    batches = (b.to(args.device) for b in image_batches(cfg, model, paths, args.batch_size))
    record = analyze_branches(model.backbone, batches, args.fourier, args.cka, progress=bar.update)
    sys.stdout.write('\n')
    record = dict(command=command_line('tools/analysis_tools/feature_analysis.py',
                                       sys.argv[1:] if argv is None else argv),
                  restv2_mm=restv2_mm.__version__, config=args.config, checkpoint=args.checkpoint,
                  images=osp.relpath(args.images), **record)
    out = osp.join(args.out, args.name)
    write_json(out + '.json', record)
    print(render_branches(record), end='')
    draw(record, out, args.fourier, args.cka)
    return record


if __name__ == '__main__':
    main()
