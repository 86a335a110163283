"""Which feature levels a stock framework reads from its backbone, found by running that backbone.

A stock config says which outputs its backbone returns in the backbone's own terms (ResNet's
``out_indices`` count residual stages, CSPNeXt's and Darknet's count the stem too, a ViT's count
blocks, HRNet has none), and the necks and heads that read them hold only their channels. The
stride of each output is the common measure: built once at random initialisation and run on a
small blank batch, the stock backbone gives the channels and the stride of every level the
framework reads, whatever its family.
"""
import copy
import importlib
from typing import NamedTuple, Optional, Sequence, Tuple

import torch
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import DefaultScope

# The strides of stages 0..3 of every MultiScaleBackbone (stem = stage 0 at stride 4, each
# stage halves the resolution; see :class:`restv2_mm.models.MultiScaleBackbone`).
OUR_STRIDES = (4, 8, 16, 32)
PROBE_SIZE = 256  # a multiple of 64: every stride up to 64 divides it exactly (on the meta device)
CPU_PROBE_SIZE = 128


class SwapError(ValueError):
    """A stock framework expects something of its backbone that ours cannot give; ``field`` is
    the config setting (``'model.roi_head.shared_head'``) that holds the expectation."""

    def __init__(self, field: str, message: str):
        super().__init__(f'{field}: {message}')
        self.field = field


class Levels(NamedTuple):
    """The feature maps a backbone returns, in output order: channels and strides (input size /
    feature size)."""
    channels: Tuple[int, ...]
    strides: Tuple[int, ...]


def _first_tensor(out) -> torch.Tensor:
    # A ViT with output_cls_token returns (feature map, class token) per level.
    while isinstance(out, (list, tuple)):
        out = out[0]
    return out


def _levels(outs, size: int) -> Levels:
    maps = [_first_tensor(o) for o in (outs if isinstance(outs, (list, tuple)) else [outs])]
    return Levels(tuple(m.shape[1] for m in maps), tuple(size // m.shape[-1] for m in maps))


def _build(backbone: dict, scope: str, device: str) -> torch.nn.Module:
    registry = importlib.import_module(f'{scope}.registry').MODELS
    with DefaultScope.overwrite_default_scope(scope), torch.device(device):
        return revert_sync_batchnorm(registry.build(copy.deepcopy(backbone)))


def _run(model: torch.nn.Module, size: int, device: str) -> Tuple[Levels, Levels]:
    """(training, inference) levels of ``model`` run on a blank batch (a copy moved to meta)."""
    if device == 'meta' and next(model.parameters(), torch.empty(0, device='meta')).device.type != 'meta':
        model = copy.deepcopy(model).to('meta')
    inputs = torch.zeros(2, 3, size, size, device=device)
    with torch.no_grad():
        model.train()  # train() of some stock backbones returns None: no chaining
        train = _levels(model(inputs), size)
        model.eval()
        return train, _levels(model(inputs), size)


def stock_levels(backbone: dict, scope: str) -> Levels:
    """Channels and strides of the outputs of a stock backbone config.

    The backbone is built under ``scope`` with random weights (``init_cfg`` is never applied,
    nothing is downloaded) and run on a (2, 3, S, S) batch of zeros without gradients, in training
    mode and in inference mode. Where it can, on torch's ``meta`` device (shapes only: no memory,
    no arithmetic) at S = 256, else at the backbone's ``img_size`` (BEiT's relative position
    tables fix it); a module that needs real values to be built (a ViT's drop-path rates) is
    built on the CPU, and one that needs them to run (mmcv's deformable convs) runs on the CPU at
    S = 128, else 256, else ``img_size``.

    Args:
        backbone: ``model.backbone`` of a stock config (``mmdet``, ``mmseg``, ``mmpretrain`` types).
        scope: The config's default scope.

    Returns:
        Levels: in output order; stride = S // (feature width).

    Raises:
        SwapError: ``model.backbone`` cannot be built and run, or returns another number of outputs
            in training than in inference (DDRNet, PIDNet: their heads read the extra training
            outputs, which a plain backbone does not give).
    """
    img_size = backbone.get('img_size')
    img_size = max(img_size) if isinstance(img_size, (tuple, list)) else img_size
    result, errors = None, []
    for build_on in ('meta', 'cpu'):
        try:
            model = _build(backbone, scope, build_on)
        except Exception as e:  # any failure of a stock module: try the next way, then say why
            errors.append(e)
            continue
        sizes = [PROBE_SIZE] + ([img_size] if img_size else [])
        # On the CPU small first (cheap), then 256: mmcv's deformable convs refuse 2x2 maps.
        runs = [(size, 'meta') for size in sizes] + [(size, 'cpu') for size in (CPU_PROBE_SIZE, *sizes)]
        for size, device in runs:
            if build_on == 'meta' and device == 'cpu':
                break  # a meta model has no values to run on the CPU: build it there
            try:
                result = _run(model, size, device)
                break
            except Exception as e:
                errors.append(e)
        if result:
            break
    if result is None:
        error = errors[-1]
        raise SwapError('model.backbone', f'the stock backbone {backbone.get("type")!r} cannot be '
                        f'built and run on the CPU to find the levels its framework reads '
                        f'({type(error).__name__}: {error}); pass out_indices yourself') from error
    train, test = result
    if len(train.channels) != len(test.channels):
        raise SwapError('model.backbone', f'the stock backbone {backbone.get("type")!r} returns '
                        f'{len(train.channels)} outputs in training and {len(test.channels)} in '
                        'inference, and its heads read them so; a backbone with the same outputs '
                        'in both modes cannot take its place')
    return test


def match_levels(strides: Sequence[int], field: str = 'model.backbone'
                 ) -> Tuple[Tuple[int, ...], Optional[str]]:
    """Our ``out_indices`` for the stock output strides a framework reads, and a note where they
    are matched by depth instead of stride.

    Strides that increase and are all among ours (4, 8, 16, 32) pick the stages of the same
    stride: RTMDet's CSPNeXt levels (8, 16, 32) become stages (1, 2, 3). Otherwise (a dilated
    ResNet's (4, 8, 8, 8), a ViT's four stride-16 maps, BiSeNet's (8, 8, 16)) the framework reads
    its levels by depth, and our last ``len(strides)`` stages take their place.

    Raises:
        SwapError: more than four levels, or increasing strides beyond ours (2, 64).
    """
    strides = tuple(int(s) for s in strides)
    increasing = all(a < b for a, b in zip(strides, strides[1:]))
    if increasing and set(strides) <= set(OUR_STRIDES):
        return tuple(OUR_STRIDES.index(s) for s in strides), None
    if increasing or len(strides) > len(OUR_STRIDES):
        raise SwapError(field, f'the framework reads {len(strides)} levels at strides {strides}; '
                        f'ours has {len(OUR_STRIDES)} at strides {OUR_STRIDES}')
    ours = tuple(range(len(OUR_STRIDES) - len(strides), len(OUR_STRIDES)))
    return ours, (f'the stock backbone gives strides {strides} (dilated or single-stride); '
                  f'matched by depth: stages {ours} at strides '
                  f'{tuple(OUR_STRIDES[i] for i in ours)}')

