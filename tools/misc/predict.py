"""Draw a detector's or segmentor's predictions for one image to a PNG.

    python tools/misc/predict.py CONFIG CHECKPOINT IMAGE --out pred.png [--score-thr 0.3] [--device cpu]

Detection (mmdet configs): boxes and masks with scores >= --score-thr. Segmentation (mmseg
configs): the predicted class map in the dataset's palette, blended over the image.
"""
import argparse
import os

import mmcv

import restv2_mm  # noqa: F401
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
    for name in ('checkpoint', 'image'):
        if not os.path.isfile(getattr(args, name)):
            raise FileNotFoundError(f'{name} not found: {getattr(args, name)!r}')
    apply_unsafe_load(args)
    from mmengine.config import Config
    if Config.fromfile(args.config).get('default_scope') == 'mmseg':
        return predict_segmentation(args)

    from mmdet.apis import inference_detector, init_detector
    from mmdet.registry import VISUALIZERS
    model = init_detector(args.config, args.checkpoint, device=args.device)
    result = inference_detector(model, args.image)
    visualizer = VISUALIZERS.build(model.cfg.visualizer)
    visualizer.dataset_meta = model.dataset_meta
    image = mmcv.imconvert(mmcv.imread(args.image), 'bgr', 'rgb')
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    visualizer.add_datasample('prediction', image, data_sample=result, draw_gt=False,
                              show=False, pred_score_thr=args.score_thr, out_file=args.out)
    scores = result.pred_instances.scores
    kept = int((scores >= args.score_thr).sum())
    print(f'{args.out}: {kept} of {len(scores)} instances drawn (score >= {args.score_thr}); '
          f'top score {float(scores.max()) if len(scores) else 0.0:.3f}')


def predict_segmentation(args):
    """Draw an mmseg model's class map for ``args.image`` to ``args.out`` (dataset palette)."""
    from mmseg.apis import inference_model, init_model, show_result_pyplot
    model = init_model(args.config, args.checkpoint, device=args.device)
    result = inference_model(model, args.image)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    show_result_pyplot(model, args.image, result, show=False, draw_gt=False, out_file=args.out,
                       opacity=0.6)
    classes = model.dataset_meta['classes']
    labels = result.pred_sem_seg.data.unique().tolist()
    print(f'{args.out}: {len(labels)} classes predicted: '
          + ', '.join(classes[i] for i in labels[:10]) + (' ...' if len(labels) > 10 else ''))


if __name__ == '__main__':
    main()
