"""The two branches of every token mixer and their sum, recorded during a forward: EMSAv2's
self-attention and Up(V) (ResTv2 eq. 2, section 3.4 / Figure 3, section 4 / Figure 4), or RMT's
retention and its local context enhancement (LCE, the depth-wise conv of V).

Modules are found by the names the state dicts fix, not by their classes: in ResTv2 every block's
``attn`` has ``up_norm`` (its output is the Up(V) branch, (N, H*W, C) tokens) and ``proj`` (its
input is attention + Up(V)); in RMT every block's ``retention`` has ``lepe`` (output: the LCE
branch, (N, H, W, C)) and ``out_proj`` (input: retention + LCE). The attention branch is the
tensor the local branch's output is added to (seen by a torch function mode, so exact: the sum
minus the local branch would lose it to rounding where the local branch dominates, as at random
initialisation). ``proj``'s input is read at ``torch.nn.functional.linear`` (the mode matches the
weight), which sees it whether the model calls the module or the function; the model runs on its
reference path (:func:`restv2_mm.ops.fast_path` off), where every linear is that function.
"""
import contextlib
import math
import warnings
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

from ..models import RMT, ResTv1, ResTv2
from ..ops import fast_path


@dataclass(frozen=True)
class BranchSpec:
    """Where a family keeps its branches (attribute names inside each block).

    Attributes:
        family: The backbone's name, for messages.
        mixer: The token mixer's attribute in a block (``'attn'``, ``'retention'``).
        local: The mixer's module whose output is the local branch (``'up_norm'``, ``'lepe'``).
        combined: The mixer's linear whose input is the sum of both branches (``'proj'``,
            ``'out_proj'``).
        local_name: The local branch's short name in records (``'up'`` as the paper, ``'lepe'``).
        layout: ``'tokens'`` ((N, H*W, C), the map size taken from the mixer's ``hw_shape``
            argument) or ``'channels_last'`` ((N, H, W, C)).
    """
    family: str
    mixer: str
    local: str
    combined: str
    local_name: str
    layout: str


RESTV2_BRANCHES = BranchSpec('ResTv2', 'attn', 'up_norm', 'proj', 'up', 'tokens')
RMT_BRANCHES = BranchSpec('RMT', 'retention', 'lepe', 'out_proj', 'lepe', 'channels_last')


def branch_spec(backbone: nn.Module) -> BranchSpec:
    """The :class:`BranchSpec` of a backbone, by its public class (subclasses included).

    Raises:
        ValueError: ResTv1 (its EMSA has no second branch), a ResTv2 in a window style (its
            attention runs on windows, not on the feature map), or another backbone.
    """
    if isinstance(backbone, ResTv2):
        style = getattr(backbone, 'style', 'global')
        if style != 'global':
            raise ValueError(f"feature analysis needs ResTv2's global attention on the whole map "
                             f"(style='global'); this backbone has style={style!r}, whose "
                             f"attention runs inside windows")
        return RESTV2_BRANCHES
    if isinstance(backbone, RMT):
        return RMT_BRANCHES
    if isinstance(backbone, ResTv1):
        raise ValueError("ResTv1's EMSA has a single branch (no Up(V), no local branch beside "
                         "the attention), so there is nothing to compare: feature analysis "
                         "needs ResTv2 (EMSAv2's Up(V)) or RMT (the retention's LCE)")
    raise ValueError(f'feature analysis knows the branches of ResTv2 and RMT backbones, got '
                     f'{type(backbone).__name__}')


def find_mixers(backbone: nn.Module, spec: BranchSpec) -> List[Tuple[str, nn.Module]]:
    """(block name, mixer) of every block in forward order, e.g. ``('stage1.0', attn)``.

    Raises:
        ValueError: no mixer found, or a mixer without the local branch module or the combining
            linear (an ablation without Up(V), for one); names them.
    """
    mixers = [(name, module) for name, module in backbone.named_modules()
              if name.split('.')[-1] == spec.mixer and hasattr(module, spec.combined)]
    if not mixers:
        raise ValueError(f'no block of this {spec.family} has a {spec.mixer!r} with a '
                         f'{spec.combined!r}')
    missing = [name for name, m in mixers if not isinstance(getattr(m, spec.local, None), nn.Module)
               or not isinstance(getattr(m, spec.combined), nn.Linear)]
    if missing:
        raise ValueError(f'{spec.family} blocks without a {spec.local!r} module (the local branch) '
                         f'or a {spec.combined!r} linear: {missing}. Feature analysis needs both '
                         "branches (ResTv2: up_target='v', up_mode='pixel_shuffle', "
                         "branches='both')")
    return [(name[:-len(spec.mixer) - 1], m) for name, m in mixers]


_ADDS = ('add', 'add_', '__add__', '__radd__', '__iadd__')


class _BranchMode(TorchFunctionMode):
    """Sees, per block, the addition of the local branch's output (by identity) to the attention,
    which gives the attention branch exactly, and the input of the combining linear (by weight)."""

    def __init__(self, weights: Dict[int, int]):
        super().__init__()
        self.weights = weights  # id(combining weight) -> block index
        self.local_ids: Dict[int, int] = {}  # id(local output) -> block index, set by the hooks
        self.linear_inputs: Dict[int, torch.Tensor] = {}
        self.attention: Dict[int, torch.Tensor] = {}
        self.sums: Dict[int, torch.Tensor] = {}
        self.local_copies: Dict[int, torch.Tensor] = {}

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is F.linear:
            index = self.weights.get(id(args[1] if len(args) > 1 else kwargs.get('weight')))
            if index is not None:
                self.linear_inputs[index] = args[0] if args else kwargs['input']
        elif getattr(func, '__name__', '') in _ADDS and len(args) == 2 and kwargs.get('alpha', 1) == 1:
            for own, other in ((args[0], args[1]), (args[1], args[0])):
                index = self.local_ids.get(id(own))
                if index is not None and isinstance(other, torch.Tensor) and other.shape == own.shape:
                    in_place = func.__name__ in ('add_', '__iadd__')  # overwrites args[0]: copy first
                    self.attention[index] = other.clone() if in_place else other
                    if in_place:
                        self.local_copies[index] = own.clone()
                    self.sums[index] = func(*args, **kwargs)
                    return self.sums[index]
        return func(*args, **kwargs)


def _map_size(args, kwargs, length: int) -> Optional[Tuple[int, int]]:
    """The (H, W) with H * W == ``length`` among a mixer call's arguments, else a square."""
    for value in list(args[1:]) + list(kwargs.values()):
        if isinstance(value, (tuple, list)) and len(value) == 2 and \
                all(isinstance(v, int) for v in value) and value[0] * value[1] == length:
            return tuple(value)
    side = math.isqrt(length)
    return (side, side) if side * side == length else None


class BranchRecorder:
    """Records, per block, the attention branch, the local branch and their sum on each forward
    of ``backbone`` inside ``with recorder:`` (hooks and the reference path only there).

    Args:
        backbone: A ResTv2 (global style) or RMT backbone, in eval mode.
        spec: Where the branches are, for another backbone built the same way; default: the
            family's (:func:`branch_spec`).

    Example::

        recorder = BranchRecorder(backbone)
        with recorder, torch.no_grad():
            backbone(images)                    # (N, 3, H, W)
        for block in recorder.take():           # one dict per block, forward order
            block['attn'], block['up'], block['com']   # (N, C, H_i, W_i) each

    Raises:
        ValueError: see :func:`branch_spec` and :func:`find_mixers`.
    """

    def __init__(self, backbone: nn.Module, spec: Optional[BranchSpec] = None):
        self.spec = spec or branch_spec(backbone)
        self.blocks = find_mixers(backbone, self.spec)
        self.names = ('attn', self.spec.local_name, 'com')
        self._stack: Optional[contextlib.ExitStack] = None
        self._reset()

    def _reset(self):
        self._local: Dict[int, torch.Tensor] = {}
        self._sizes: Dict[int, Tuple] = {}
        self._mode = _BranchMode({id(getattr(m, self.spec.combined).weight): i
                                  for i, (_, m) in enumerate(self.blocks)})

    def __enter__(self):
        self._reset()
        stack = contextlib.ExitStack()
        for i, (_, mixer) in enumerate(self.blocks):
            stack.enter_context(_removing(mixer.register_forward_pre_hook(
                self._size_hook(i), with_kwargs=True)))
            stack.enter_context(_removing(getattr(mixer, self.spec.local).register_forward_hook(
                self._local_hook(i))))
        stack.enter_context(fast_path(False))
        stack.enter_context(self._mode)
        self._stack = stack
        return self

    def __exit__(self, *exc):
        stack, self._stack = self._stack, None
        return stack.__exit__(*exc)

    def _size_hook(self, i):
        def hook(module, args, kwargs):
            self._sizes[i] = (args, kwargs)
        return hook

    def _local_hook(self, i):
        def hook(module, args, output):
            self._local[i] = output
            self._mode.local_ids[id(output)] = i
        return hook

    def take(self) -> List[Dict[str, torch.Tensor]]:
        """The branches of the last forward, one dict per block (keys :attr:`names`), each
        (N, C, H, W) as computed (float32 for a float32 model); then forgets them.

        The attention branch is the tensor the local branch was added to, exactly; where the
        model adds them some other way it is the sum minus the local branch, with a warning
        (float32 rounding of the sum, ~6e-8 of the local branch's magnitude, then remains).

        Raises:
            RuntimeError: a block whose local output or combined input was not seen (no forward
                ran, or the model computed the sum without ``F.linear``), or whose combined input
                is not the sum of the two branches; names the block.
        """
        out, mode = [], self._mode
        for i, (name, _) in enumerate(self.blocks):
            combined, local = mode.linear_inputs.get(i), mode.local_copies.get(i, self._local.get(i))
            if combined is None or local is None:
                what = f'{self.spec.mixer}.{self.spec.local}' if local is None else \
                    f'the input of {self.spec.mixer}.{self.spec.combined}'
                raise RuntimeError(f'{name}: {what} was not seen in the forward; run the backbone '
                                   'inside the recorder (with recorder: backbone(x))')
            if combined.shape != local.shape:
                raise RuntimeError(f'{name}: the combined input {tuple(combined.shape)} and the '
                                   f'local branch {tuple(local.shape)} differ in shape')
            attention = mode.attention.get(i)
            if attention is None:
                warnings.warn(f'{name}: the addition of the two branches was not seen; the attention '
                              f'branch is {self.spec.combined}\'s input minus {self.spec.local}\'s output')
                attention = combined - local
            elif not (combined is mode.sums[i] or torch.equal(combined, mode.sums[i])):
                raise RuntimeError(f'{name}: the input of {self.spec.mixer}.{self.spec.combined} is '
                                   f'not the sum of the attention and {self.spec.local}')
            maps = (self._to_map(t, i, name) for t in (attention, local, combined))
            out.append(dict(zip(self.names, maps)))
        self._reset()
        return out

    def _to_map(self, x: torch.Tensor, i: int, name: str) -> torch.Tensor:
        if self.spec.layout == 'channels_last':
            return x.permute(0, 3, 1, 2)
        n, length, c = x.shape
        size = _map_size(*self._sizes.get(i, ((), {})), length=length)
        if size is None:
            raise RuntimeError(f'{name}: cannot tell the map size of {length} tokens (no (H, W) '
                               'argument of the mixer matches, and it is not a square)')
        return x.transpose(1, 2).reshape(n, c, *size)


@contextlib.contextmanager
def _removing(handle):
    try:
        yield handle
    finally:
        handle.remove()
