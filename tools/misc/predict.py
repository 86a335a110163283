"""Draw a detector's or segmentor's predictions for one image to a PNG.

    python tools/misc/predict.py CONFIG CHECKPOINT IMAGE --out pred.png [--score-thr 0.3] [--device cpu]

Detection (mmdet configs): boxes and masks with scores >= --score-thr. Segmentation (mmseg
configs): the predicted class map in the dataset's palette, blended over the image
(:func:`restv2_mm.apis.predict_image`).
"""
import argparse

import restv2_mm  # noqa: F401
from restv2_mm.apis import predict_image
from restv2_mm.cli import add_unsafe_load_arg, apply_unsafe_load


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('image')
    parser.add_argument('--out', required=True, help='output PNG path')
    parser.add_argument('--score-thr', type=float, default=0.3, help='hide boxes below this score')
    parser.add_argument('--device', default='cpu')
    add_unsafe_load_arg(parser)
    args = parser.parse_args(argv)
    apply_unsafe_load(args)
    print(predict_image(args.config, args.checkpoint, args.image, args.out, args.score_thr,
                        args.device))


if __name__ == '__main__':
    main()
