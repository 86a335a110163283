"""A detector's or segmentor's predictions for one image, drawn to a PNG
(``tools/misc/predict.py``)."""
import os


def _predict_detection(config: str, checkpoint: str, image: str, out: str, score_thr: float,
                       device: str) -> str:
    import mmcv
    from mmdet.apis import inference_detector, init_detector
    from mmdet.registry import VISUALIZERS
    model = init_detector(config, checkpoint, device=device)
    result = inference_detector(model, image)
    visualizer = VISUALIZERS.build(model.cfg.visualizer)
    visualizer.dataset_meta = model.dataset_meta
    rgb = mmcv.imconvert(mmcv.imread(image), 'bgr', 'rgb')
    visualizer.add_datasample('prediction', rgb, data_sample=result, draw_gt=False, show=False,
                              pred_score_thr=score_thr, out_file=out)
    scores = result.pred_instances.scores
    kept = int((scores >= score_thr).sum())
    return (f'{out}: {kept} of {len(scores)} instances drawn (score >= {score_thr}); '
            f'top score {float(scores.max()) if len(scores) else 0.0:.3f}')


def _predict_segmentation(config: str, checkpoint: str, image: str, out: str, device: str) -> str:
    from mmseg.apis import inference_model, init_model, show_result_pyplot
    model = init_model(config, checkpoint, device=device)
    result = inference_model(model, image)
    show_result_pyplot(model, image, result, show=False, draw_gt=False, out_file=out, opacity=0.6)
    classes = model.dataset_meta['classes']
    labels = result.pred_sem_seg.data.unique().tolist()
    return (f'{out}: {len(labels)} classes predicted: '
            + ', '.join(classes[i] for i in labels[:10]) + (' ...' if len(labels) > 10 else ''))


def predict_image(config: str, checkpoint: str, image: str, out: str, score_thr: float = 0.3,
                  device: str = 'cpu') -> str:
    """Run a trained model of ``config`` on ``image`` and draw its predictions to ``out`` (a PNG;
    its folder is created). Detection (an mmdet config): boxes and masks scoring at least
    ``score_thr``; segmentation (mmseg): the class map in the dataset's palette, blended over the
    image.

    Returns:
        A line saying what was drawn.

    Raises:
        FileNotFoundError: no ``checkpoint`` or ``image`` file.
    """
    from .config_model import load_config
    for name, path in (('checkpoint', checkpoint), ('image', image)):
        if not os.path.isfile(path):
            raise FileNotFoundError(f'{name} not found: {path!r}')
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    if load_config(config).get('default_scope') == 'mmseg':
        return _predict_segmentation(config, checkpoint, image, out, device)
    return _predict_detection(config, checkpoint, image, out, score_thr, device)
