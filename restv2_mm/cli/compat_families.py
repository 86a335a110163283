"""The config families of the installed mmdet and mmseg, and the one config of each that the
compatibility matrix runs (:mod:`.compat_matrix`).

A family is a folder of ``<library>/.mim/configs``. Its representative is the first config its
metafile lists (the family's reference model), except where ``REPRESENTATIVES`` names another
and says why; ``EXTRA`` adds variants whose structure differs from the representative's. A
family that does not train a detector or segmentor on images, or needs a package or data the
project does not pin, is skipped with the reason in ``SKIPPED``.
"""
import glob
import importlib.util
import os
import os.path as osp
import re
from typing import Dict, List, NamedTuple, Optional, Tuple

LIBRARIES = ('mmdet', 'mmseg')
TRACKING = 'tracking or video (the matrix trains detectors and segmentors on single images)'
GROUNDING = 'text-grounded (needs a text encoder and captions; the matrix has images and labels)'
SKIPPED: Dict[Tuple[str, str], str] = {
    **{('mmdet', f): TRACKING for f in ('bytetrack', 'deepsort', 'mask2former_vis',
                                        'masktrack_rcnn', 'ocsort', 'qdtrack', 'reid', 'sort',
                                        'strongsort')},
    **{('mmdet', f): GROUNDING for f in ('glip', 'grounding_dino', 'mm_grounding_dino')},
    ('mmseg', 'san'): 'text-grounded open-vocabulary segmentation (a CLIP text encoder over '
                      'class names)',
    ('mmdet', '_base_'): 'shared model, dataset and schedule files, not a framework',
    ('mmseg', '_base_'): 'shared model, dataset and schedule files, not a framework',
    ('mmdet', 'common'): 'shared dataset and schedule files (LSJ, multi-scale), not a framework',
    ('mmdet', 'misc'): 'Detectron2 models run through mmdet: needs detectron2 (not pinned)',
    ('mmdet', 'timm_example'): 'a timm backbone in RetinaNet: needs timm (not pinned)',
    ('mmdet', 'albu_example'): 'Mask R-CNN with albumentations (not pinned) in its data pipeline; '
                               'the model is mask_rcnn\'s',
    ('mmdet', 'instaboost'): 'Mask R-CNN with InstaBoost (instaboostfast, not pinned) in its data '
                             'pipeline; the model is mask_rcnn\'s',
    ('mmdet', 'dsdl'): 'a data format (dsdl, not pinned), not a framework',
    ('mmseg', 'dsdl'): 'a data format (dsdl, not pinned), not a framework',
    ('mmdet', 'boxinst'): 'needs scikit-image (not pinned) for its pairwise colour affinities',
    ('mmdet', 'soft_teacher'): 'semi-supervised: trains on labelled and unlabelled batches of a '
                               'multi-branch pipeline; the detector is faster_rcnn\'s',
    ('mmseg', 'vpd'): 'depth estimation (NYU) on a Stable Diffusion backbone (needs ldm, not pinned)',
}
# Families whose metafile's first config is a variant rather than the family's reference model.
REPRESENTATIVES: Dict[Tuple[str, str], Tuple[str, str]] = {
    ('mmdet', 'faster_rcnn'): ('faster-rcnn_r50_fpn_1x_coco.py', 'the reference FPN model (the '
                               "metafile's first is the C4 variant, run as an extra row)"),
    ('mmdet', 'cascade_rpn'): ('cascade-rpn_faster-rcnn_r50-caffe_fpn_1x_coco.py', 'Cascade RPN '
                               'in a detector trained end to end (the first trains Fast R-CNN on '
                               'its saved proposals)'),
    ('mmdet', 'pascal_voc'): ('faster-rcnn_r50_fpn_1x_voc0712.py', 'the FPN model, as faster_rcnn '
                              "(the first file is the C4 variant)"),
    ('mmseg', 'mask2former'): ('mask2former_r50_8xb2-160k_ade20k-512x512.py', 'ADE20K, as the '
                               "paper's segmentation results"),
}
# Variants with another structure than their family's representative.
EXTRA: Tuple[Tuple[str, str, str], ...] = (
    ('mmdet', 'faster_rcnn', 'faster-rcnn_r50-caffe_c4-1x_coco.py'),
    ('mmdet', 'faster_rcnn', 'faster-rcnn_r50-caffe-dc5_1x_coco.py'),
    ('mmdet', 'mask2former', 'mask2former_r50_8xb2-lsj-50e_coco.py'),
    ('mmdet', 'rtmdet', 'rtmdet-ins_tiny_8xb32-300e_coco.py'),
)
# Input side where the default is too small: SSD's extra levels need 300; DINO and DDQ choose
# their 900 queries among the encoder's tokens (128x128 gives 340); DDOD's head runs mmcv's
# deformable conv on its stride-128 level, which refuses maps under 3x3 (with the stock ResNet
# too: recorded as the framework's failure at the matrix's sizes; 384 would pass).
SIZES: Dict[Tuple[str, str], int] = {('mmdet', 'ssd'): 320, ('mmdet', 'dino'): 256,
                                     ('mmdet', 'ddq'): 256, ('mmdet', 'ddod'): 256}


class Entry(NamedTuple):
    """One row of the matrix: a family's config (``None`` where the family is skipped)."""
    library: str
    family: str
    config: Optional[str]
    skipped: Optional[str] = None
    size: Optional[int] = None

    @property
    def name(self) -> str:
        """The config as ``mmengine.hub.get_config`` takes it (``'mmdet::dino/dino-...py'``)."""
        return f'{self.library}::{self.family}/{self.config}'


def configs_root(library: str) -> str:
    """The folder of a library's shipped configs (``<package>/.mim/configs``).

    Raises:
        ImportError: the library is not installed.
    """
    spec = importlib.util.find_spec(library)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f'{library} is not installed')
    return osp.join(list(spec.submodule_search_locations)[0], '.mim', 'configs')


def representative(library: str, family: str) -> str:
    """The config file (name within the family's folder) that stands for the family."""
    if (library, family) in REPRESENTATIVES:
        return REPRESENTATIVES[(library, family)][0]
    folder = osp.join(configs_root(library), family)
    for meta in ('metafile.yml', 'metafile.yaml'):
        path = osp.join(folder, meta)
        if osp.isfile(path):
            with open(path, encoding='utf-8') as f:
                for match in re.finditer(r'^\s*Config:\s*(\S+)', f.read(), re.M):
                    name = osp.basename(match.group(1))
                    if osp.isfile(osp.join(folder, name)):
                        return name
    return sorted(osp.basename(p) for p in glob.glob(osp.join(folder, '*.py')))[0]


def families(library: str) -> List[str]:
    """Every config folder of ``library``, sorted."""
    root = configs_root(library)
    return sorted(d for d in os.listdir(root)
                  if osp.isdir(osp.join(root, d)) and not d.startswith('__'))


def matrix_entries(libraries=LIBRARIES, only: Optional[List[str]] = None) -> List[Entry]:
    """The matrix's rows: each family of each library (skipped ones with their reason), then the
    extra variants. ``only`` keeps the families named (``'rtmdet'``, ``'mmseg/segformer'``)."""
    def wanted(lib, family):
        return not only or family in only or f'{lib}/{family}' in only
    entries = []
    for lib in libraries:
        for family in families(lib):
            if not wanted(lib, family):
                continue
            reason = SKIPPED.get((lib, family))
            config = None if reason else representative(lib, family)
            entries.append(Entry(lib, family, config, reason, SIZES.get((lib, family))))
    entries += [Entry(lib, family, config, None, SIZES.get((lib, family)))
                for lib, family, config in EXTRA if lib in libraries and wanted(lib, family)]
    return entries
