"""Official ImageNet checkpoints of ResTv2 and ResTv1 (github.com/wofmanaf/ResT) and RMT
(github.com/qhfan/RMT) converted into mmpretrain checkpoint files
(``tools/model_converters/convert_official_ckpt.py``)."""
import hashlib
import io
import os.path as osp
from typing import Dict, Iterable, Tuple, Type

import torch
from torch import nn

from ..models import RMT, ResTv1, ResTv2, convert_official_classifier, unwrap_state_dict
from ..utils import atomic_write, read_checkpoint

CONVERTER_VERSION = 2  # 1: ResTv2 only, meta without checksum; 2: RMT too, meta with SHA-256


def file_sha256(path: str) -> str:
    """The SHA-256 of a file's bytes, in hex."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def official_family(keys: Iterable[str]) -> Type[nn.Module]:
    """The backbone class whose official checkpoints have these keys: ``patch_embed.*`` /
    ``layers.*``: RMT; ``stem.conv1.*``: ResTv1; otherwise (``stem.*`` / ``stage1.*``) ResTv2."""
    keys = list(keys)
    # ResTv1 before ResTv2: its prefixes are the narrower (both start stem.*).
    return next((cls for cls in (RMT, ResTv1, ResTv2)
                 if any(k.startswith(cls.official_prefixes) for k in keys)), ResTv2)


def convert_official_checkpoint(src: str, dst: str, weights: str = 'model',
                                converter: str = 'convert_official_ckpt.py',
                                version: str = '') -> Tuple[Dict[str, torch.Tensor], dict]:
    """Convert the official classifier checkpoint ``src`` and write ``{'state_dict', 'meta'}`` to
    ``dst`` atomically (never a half-written file). The state dict (``backbone.*``, ``head.fc.*``,
    and for RMT ``neck.proj.*`` / ``neck.norm.*``) loads strictly into our mmpretrain classifier
    configs of the family.

    Args:
        weights: ``'model'`` (the raw weights) or ``'ema'`` (the official ``model_ema``).
        converter, version: Recorded in the meta (the tool's name, restv2_mm's version).

    Returns:
        (state dict, meta): ``source_file`` (absolute), ``source_sha256``, ``weights``, ``family``,
        ``converter``, ``converter_version`` (:data:`CONVERTER_VERSION`), ``restv2_mm_version``.

    Raises:
        ValueError: ``dst`` is ``src``; a checkpoint that is no official classifier (already in
            the OpenMMLab layout, or lacking ``weights``).
    """
    if osp.abspath(src) == osp.abspath(dst):
        raise ValueError('dst must differ from src (the source is never overwritten)')
    checkpoint = read_checkpoint(src)
    family = official_family(unwrap_state_dict(checkpoint, weights))
    state = convert_official_classifier(checkpoint, family, weights)
    meta = dict(source_file=osp.abspath(src), source_sha256=file_sha256(src), weights=weights,
                family=family.__name__, converter=converter, converter_version=CONVERTER_VERSION,
                restv2_mm_version=version)
    buffer = io.BytesIO()
    torch.save({'state_dict': state, 'meta': meta}, buffer)
    atomic_write(dst, buffer.getvalue())
    return state, meta
