"""Predictions of an exported file with onnxruntime, as the mmdet / mmseg / mmpretrain inferencers
return them, and their pictures.

The file's metadata (:mod:`.metadata`) gives the test pipeline (load, resize, pack), the task,
the classes and the limits; the graph does the rest up to its outputs, and numpy the last steps
(:mod:`.postprocess`). No model code runs: torch and the OpenMMLab packages are used only for the
pipeline's transforms and the result structures (``DetDataSample``, ``SegDataSample``,
mmpretrain's ``DataSample``) that a user of those libraries already has.
"""
import datetime
from typing import Dict, List, Optional, Sequence

import numpy as np

from .metadata import pipeline_from_json, read_metadata
from .postprocess import paste_masks, resize_bilinear, softmax


def same_size_batches(items: Sequence[dict], batch_size: int) -> List[list]:
    """Pipeline outputs (dicts with ``inputs``) grouped into batches of up to ``batch_size``
    consecutive items whose ``inputs`` have one shape (a batch shares one input size)."""
    batches = []
    for item in items:
        last = batches[-1] if batches else None
        if last and len(last) < batch_size and last[0]['inputs'].shape == item['inputs'].shape:
            last.append(item)
        else:
            batches.append([item])
    return batches


class OnnxInferencer:
    """An exported file, run on images.

    Args:
        path: The ``.onnx`` file (tools/deployment/pytorch2onnx.py).
        providers: onnxruntime execution providers (default: CPU).
        num_threads: onnxruntime's intra-op threads (default: its own choice).

    Raises:
        ValueError: the file has no restv2_mm metadata, or holds a bare backbone (no task).
        FileNotFoundError: no file at ``path``.
    """

    def __init__(self, path: str, providers: Optional[Sequence[str]] = None,
                 num_threads: Optional[int] = None):
        import os.path as osp

        import onnxruntime as ort
        if not osp.isfile(path):
            raise FileNotFoundError(f'no ONNX file at {path!r}')
        options = ort.SessionOptions()
        if num_threads:
            options.intra_op_num_threads = int(num_threads)
        self.session = ort.InferenceSession(path, options,
                                            providers=list(providers or ['CPUExecutionProvider']))
        self.meta = read_metadata(self.session)
        self.task = self.meta['task']
        if self.task == 'backbone':
            raise ValueError(f'{path} holds a backbone (its feature maps), not a task model: run '
                             f'it with onnxruntime directly')
        self.output_names = [o.name for o in self.session.get_outputs()]
        self._pipeline = None

    @property
    def pipeline(self):
        """The test pipeline of the file's metadata (built on first use)."""
        if self._pipeline is None:
            from mmengine.dataset import Compose
            from mmengine.registry import init_default_scope
            init_default_scope(self.meta['scope'])
            self._pipeline = Compose([pipeline_from_json(t) for t in self.meta['pipeline']])
        return self._pipeline

    def prepare(self, image: str) -> dict:
        """The pipeline's output for an image file: ``inputs`` (3, H, W) float32 and its
        ``data_samples`` (with ``ori_shape``, ``img_shape``, ``scale_factor``)."""
        data = self.pipeline(dict(img_path=image))
        return dict(inputs=data['inputs'].numpy().astype(np.float32), data_samples=data['data_samples'])

    def check_input(self, images: np.ndarray) -> None:
        """Refuse a batch the file cannot take, before onnxruntime does.

        Raises:
            ValueError: not (N, 3, H, W); a static file at another size or batch; a dynamic one
                below its smallest size or above its largest batch. Names the expected value.
        """
        meta = self.meta
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f'images must be (N, 3, H, W), got {images.shape}')
        n, _, h, w = images.shape
        if not meta['dynamic']:
            want = (1, *meta['shape'])
            if (n, h, w) != want:
                raise ValueError(f'this file was exported for batch 1 at {want[1]}x{want[2]} only '
                                 f'(export with --dynamic for other sizes); got batch {n} at {h}x{w}')
            return
        low = meta['min_size']
        if h < low[0] or w < low[1]:
            raise ValueError(f'images of {h}x{w} are below the smallest size this file takes, '
                             f'{low[0]}x{low[1]}')
        if n > meta['max_batch']:
            raise ValueError(f'batch {n} exceeds this file\'s largest batch, {meta["max_batch"]}')

    def run(self, images: np.ndarray) -> Dict[str, np.ndarray]:
        """The graph's outputs by name for an (N, 3, H, W) float32 batch (see
        :meth:`check_input`)."""
        images = np.ascontiguousarray(images, dtype=np.float32)
        self.check_input(images)
        return dict(zip(self.output_names, self.session.run(None, {'images': images})))

    def predict(self, images: Sequence[str], batch_size: int = 1) -> list:
        """Data samples with predictions for image files, as the OpenMMLab inferencers return
        them: detection ``pred_instances`` (``bboxes`` in original pixels, ``scores``, ``labels``,
        ``masks`` (K, H, W) bool), segmentation ``seg_logits`` and ``pred_sem_seg`` at the original
        size, classification ``pred_score`` and ``pred_label``. Consecutive images that the
        pipeline makes the same size run as one batch of up to ``batch_size``."""
        prepared = [self.prepare(image) for image in images]
        results = []
        for batch in same_size_batches(prepared, batch_size):
            outputs = self.run(np.stack([p['inputs'] for p in batch]))
            results += [self.to_sample(outputs, i, p['data_samples']) for i, p in enumerate(batch)]
        return results

    def to_sample(self, outputs: Dict[str, np.ndarray], index: int, sample):
        """Put image ``index``'s outputs into its data sample (see :meth:`predict`)."""
        import torch
        meta = sample.metainfo
        if self.task in ('detection', 'instance_segmentation'):
            from mmengine.structures import InstanceData
            n = int(outputs['num_dets'][index])
            scale = np.array(meta['scale_factor'], dtype=np.float32)[[0, 1, 0, 1]]
            boxes = outputs['boxes'][index, :n] / scale
            instances = InstanceData(bboxes=torch.from_numpy(boxes),
                                     scores=torch.from_numpy(outputs['scores'][index, :n]),
                                     labels=torch.from_numpy(outputs['labels'][index, :n]))
            if 'masks' in outputs:
                instances.masks = torch.from_numpy(paste_masks(
                    outputs['masks'][index, :n], boxes, meta['ori_shape'],
                    self.meta['limits']['mask_thr_binary']))
            sample.pred_instances = instances
        elif self.task == 'semantic_segmentation':
            from mmengine.structures import PixelData
            seg = self.meta['segmentation']
            logits = resize_bilinear(outputs['seg_logits'][index], meta['ori_shape'][:2],
                                     seg['align_corners'])
            if logits.shape[0] > 1:
                pred = logits.argmax(0)[None]
            else:
                logits = 1 / (1 + np.exp(-logits))
                pred = (logits > seg['threshold']).astype(np.int64)
            sample.set_data(dict(seg_logits=PixelData(data=torch.from_numpy(logits)),
                                 pred_sem_seg=PixelData(data=torch.from_numpy(pred))))
        else:
            logits = outputs['logits'][index]
            if self.meta['classification']['activation'] == 'softmax':
                scores = softmax(logits)
            else:
                scores = (1 / (1 + np.exp(-logits))).astype(np.float32)
            sample.set_pred_score(torch.from_numpy(scores))
            sample.set_pred_label(torch.tensor([int(scores.argmax())]))
        return sample

    def visualize(self, image: str, sample, out_file: str, score_thr: float = 0.3,
                  name: str = 'onnxruntime') -> None:
        """Draw ``sample``'s predictions over ``image`` to ``out_file`` with the config's
        visualizer, as the OpenMMLab inferencers draw them (detections with score >=
        ``score_thr``)."""
        draw(self.meta, image, sample, out_file, score_thr, name)


def draw(meta: dict, image: str, sample, out_file: str, score_thr: float = 0.3,
         name: str = 'prediction') -> None:
    """Draw a data sample over an image file with the visualizer of an export's ``meta`` (also
    for PyTorch's predictions, so that both pictures are drawn alike)."""
    import mmcv
    from mmengine.registry import VISUALIZERS, init_default_scope
    init_default_scope(meta['scope'])
    cfg = dict(meta['visualizer'] or dict(type='Visualizer'))
    cfg.update(name=f'{name}-{datetime.datetime.now().isoformat()}', save_dir=None)
    cfg.pop('vis_backends', None)
    visualizer = VISUALIZERS.build(cfg)
    visualizer.dataset_meta = meta['dataset_meta']
    rgb = mmcv.imread(image, channel_order='rgb')
    if meta['task'] == 'classification':
        visualizer.visualize_cls(rgb, sample, classes=meta['dataset_meta'].get('classes'),
                                 show=False, out_file=out_file)
    elif meta['task'] == 'semantic_segmentation':
        visualizer.add_datasample(name, rgb, sample, draw_gt=False, show=False, out_file=out_file)
    else:
        visualizer.add_datasample(name, rgb, sample, draw_gt=False, show=False,
                                  pred_score_thr=score_thr, out_file=out_file)


def load_images(images: Sequence[str]) -> List[str]:
    """The image files of ``images`` (files, or folders: their .jpg/.jpeg/.png/.bmp files, sorted).

    Raises:
        FileNotFoundError: a path that does not exist, or a folder without images.
    """
    import glob
    import os.path as osp
    files = []
    for path in images:
        if osp.isdir(path):
            found = sorted(f for f in glob.glob(osp.join(path, '*'))
                           if f.lower().endswith(('.jpg', '.jpeg', '.png', '.bmp')))
            if not found:
                raise FileNotFoundError(f'no .jpg/.png/.bmp image in the folder {path!r}')
            files += found
        elif osp.isfile(path):
            files.append(path)
        else:
            raise FileNotFoundError(f'no image at {path!r}')
    return files


def summarize(task: str, sample, classes: Optional[Sequence[str]] = None, score_thr: float = 0.) -> dict:
    """A JSON-able summary of one prediction: detections (box, score, label, class) with score >=
    ``score_thr``; the share of pixels per predicted class; the top-5 classes and scores."""
    def name(i):
        return classes[i] if classes and 0 <= i < len(classes) else str(i)
    if task in ('detection', 'instance_segmentation'):
        inst = sample.pred_instances
        keep = inst.scores.numpy() >= score_thr
        return dict(detections=[dict(bbox=[round(float(v), 2) for v in box], score=round(float(s), 4),
                                     label=int(lab), name=name(int(lab)))
                                for box, s, lab in zip(inst.bboxes.numpy()[keep], inst.scores.numpy()[keep],
                                                       inst.labels.numpy()[keep])])
    if task == 'semantic_segmentation':
        labels, counts = np.unique(sample.pred_sem_seg.data.numpy(), return_counts=True)
        order = np.argsort(-counts)
        return dict(classes={name(int(labels[i])): round(float(counts[i] / counts.sum()), 4) for i in order})
    scores = sample.pred_score.numpy()
    top = np.argsort(-scores)[:5]
    return dict(top5=[dict(label=int(i), name=name(int(i)), score=round(float(scores[i]), 4)) for i in top])
