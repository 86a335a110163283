"""The ablations of EMSAv2 in the ResTv2 paper (Table 2a-c, appendices B and E), as small
subclasses of :class:`~.emsav2.EMSAv2`, and :func:`build_emsa`, which picks the module for the
backbones' switches (``up_target``, ``up_mode``, ``branches``, ``mhim``, ``pos_embed='rpe'``).

- defaults: :class:`EMSAv2` (section 3.2, Figure 2); with ``mhim=True`` appendix B's
  ``EMSAv2(mhim=True)``;
- ``up_target='k'`` / ``'x'``: :class:`EMSAv2UpK` / :class:`EMSAv2UpX` (Table 2a);
- ``up_mode='nearest'`` / ``'bilinear'``: :class:`EMSAv2UpMode` (Table 2b);
- ``up_target='none'`` or ``branches='attn'``: :class:`~.emsa.EMSA`, ResTv1's, with MHIM where
  ``mhim`` (Table 2a/b "w/o", Table 2c "EMSA", appendix A);
- ``branches='conv'``: :class:`DownUpConvNet` (Table 2c "ConvNet");
- ``pos_embed='rpe'`` of the backbone: :class:`EMSAv2RPE` (appendix E).

The paper varies one of Table 2a, Table 2b and appendix E at a time; so does :func:`build_emsa`
(with or without MHIM).
"""
from typing import Optional, Tuple

import torch
from mmcv.cnn import build_norm_layer
from torch import nn

from ..common.defaults import NORM_CFG
from ..common.upsample import build_upsample, check_up_mode, upsample
from .emsa import EMSA, reduced_size
from .emsav2 import EMSAv2
from .position import relative_position

UP_TARGETS = ('v', 'k', 'x', 'none')
BRANCHES = ('both', 'attn', 'conv')


class EMSAv2UpK(EMSAv2):
    """Table 2a "K": ``Up`` upsamples the keys (the first C channels of ``kv(x')``), not V."""

    def up_input(self, reduced: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return k


class EMSAv2UpX(EMSAv2):
    """Table 2a "X": ``Up`` upsamples ``x'``, the reduced input (``x`` where r = 1), not V."""

    def up_input(self, reduced: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return reduced


class EMSAv2UpMode(EMSAv2):
    """Table 2b: ``Up`` by ``up_mode``: ``'pixel_shuffle'`` (EMSAv2's own), or ``'nearest'`` /
    ``'bilinear'`` interpolation by r, which the paper lists with the parameters and FLOPs of no
    upsampling: no ``up`` parameters and no ``up_norm``.

    Args:
        up_mode (str): One of :data:`~restv2_mm.models.common.UP_MODES`.
        Others: as :class:`EMSAv2`.
    """

    def __init__(self, *args, up_mode: str = 'pixel_shuffle', **kwargs):
        check_up_mode(up_mode)
        self.up_mode = up_mode
        super().__init__(*args, **kwargs)

    def _build_up(self, embed_dims: int, sr_ratio: int, norm_cfg: dict) -> None:
        self.up = build_upsample(embed_dims, sr_ratio, self.up_mode)
        self.up_norm = build_norm_layer(norm_cfg, embed_dims)[1] \
            if self.up_mode == 'pixel_shuffle' else None

    def up_branch(self, tokens: torch.Tensor, reduced_shape: Tuple[int, int],
                  hw_shape: Tuple[int, int]) -> torch.Tensor:
        out = upsample(tokens, reduced_shape, hw_shape, self.up)
        return out if self.up_norm is None else self.up_norm(out)


class DownUpConvNet(EMSAv2UpMode):
    """Table 2c "ConvNet": the downsample-upsample branch alone, no self-attention:
    ``proj(LN(Up(v(x'))))``, with ``v`` a Linear(C, C) in place of ``q`` and ``kv``
    (``value_proj=False``, ``up_target='x'``: ``proj(LN(Up(x')))``, no ``v`` either).

    Args:
        value_proj (bool): Whether ``v`` is there. Default: True.
        Others: as :class:`EMSAv2UpMode` (no ``mhim``: there is no attention map).
    """

    def __init__(self, *args, value_proj: bool = True, **kwargs):
        self.value_proj = value_proj
        super().__init__(*args, **kwargs)

    def _build_projections(self, embed_dims: int, qkv_bias: bool) -> None:
        if self.value_proj:
            self.v = nn.Linear(embed_dims, embed_dims, bias=qkv_bias)

    def forward(self, x: torch.Tensor, hw_shape: Tuple[int, int]) -> torch.Tensor:
        reduced, reduced_shape = self.reduce(x, hw_shape)
        tokens = self.v(reduced) if self.value_proj else reduced
        return self.proj_drop(self.proj(self.up_branch(tokens, reduced_shape, hw_shape)))


class EMSAv2RPE(EMSAv2):
    """Appendix E "RPE": ``Softmax(Q (K + P)^T / sqrt(d)) V``, ``P = P_h + P_w`` the learnable
    relative positions ``rel_pos_h`` (k, h', 1, d) and ``rel_pos_w`` (k, 1, w', d) of the keys'
    map at the pre-training input (resized at other sizes, :func:`.position.relative_position`).
    ``Up`` takes V without P. Fused attention still applies.

    Args:
        rpe_size (tuple[int, int]): The (H, W) input map the tables are made for.
        Others: as :class:`EMSAv2`.
    """

    def __init__(self, *args, rpe_size: Tuple[int, int], **kwargs):
        self.rpe_size = tuple(rpe_size)
        super().__init__(*args, **kwargs)

    def _build_positions(self) -> None:
        hk, wk = (reduced_size(s, self.sr_ratio) for s in self.rpe_size)
        d = self.embed_dims // self.num_heads
        self.rel_pos_h = nn.Parameter(torch.zeros(self.num_heads, hk, 1, d))
        self.rel_pos_w = nn.Parameter(torch.zeros(self.num_heads, 1, wk, d))
        self.init_rpe()

    def init_rpe(self) -> None:
        """Trunc-normal (std 0.02) relative positions, as the usual learnable embeddings."""
        nn.init.trunc_normal_(self.rel_pos_h, std=.02)
        nn.init.trunc_normal_(self.rel_pos_w, std=.02)

    def forward(self, x: torch.Tensor, hw_shape: Tuple[int, int]) -> torch.Tensor:
        reduced, reduced_shape = self.reduce(x, hw_shape)
        k, v = self.kv(reduced).chunk(2, dim=-1)
        p = relative_position(self.rel_pos_h, self.rel_pos_w, reduced_shape)  # (k, L', d)
        k_p = k + p.transpose(0, 1).reshape(-1, self.embed_dims)  # as head-major tokens
        out = self.attend(self.q(x), k_p, v) + \
            self.up_branch(self.up_input(reduced, k, v), reduced_shape, hw_shape)
        return self.proj_drop(self.proj(out))


def check_switches(up_target: str = 'v', up_mode: str = 'pixel_shuffle', branches: str = 'both',
                   mhim: bool = False, rpe: bool = False) -> None:
    """Check the ablation switches alone and together (see the module docstring).

    Raises:
        ValueError / TypeError: an unknown value, or a combination with no meaning (the ConvNet
            has no attention map for MHIM or RPE and no keys to upsample; EMSA has nothing to
            upsample), or two of Table 2a, Table 2b and appendix E at once. Each message names
            the arguments and the allowed values.
    """
    if up_target not in UP_TARGETS:
        raise ValueError(f'up_target must be one of {UP_TARGETS} (ResTv2 Table 2a), '
                         f'got {up_target!r}')
    check_up_mode(up_mode)
    if branches not in BRANCHES:
        raise ValueError(f'branches must be one of {BRANCHES} (ResTv2 Table 2c), got {branches!r}')
    if not isinstance(mhim, bool):
        raise TypeError(f'mhim must be True or False (ResTv2 appendix B), got {mhim!r}')
    if branches == 'attn' and up_target in ('x', 'k'):
        raise ValueError(f"branches='attn' (EMSA alone) has no upsampling branch; up_target must "
                         f"be 'v' (the default) or 'none' with it, got {up_target!r}")
    if branches == 'conv':
        if up_target not in ('v', 'x'):
            raise ValueError(f"branches='conv' (the downsample-upsample ConvNet alone) computes "
                             f"no keys; up_target must be 'v' or 'x' with it, got {up_target!r}")
        if mhim or rpe:
            raise ValueError(f"branches='conv' has no attention map: mhim=True and "
                             f"pos_embed='rpe' need one (got mhim={mhim!r}, "
                             f"pos_embed={'rpe' if rpe else 'not rpe'})")
        return
    if up_mode != 'pixel_shuffle' and (up_target == 'none' or branches == 'attn'):
        raise ValueError(f'up_mode={up_mode!r} chooses how to upsample, but up_target='
                         f'{up_target!r}, branches={branches!r} has no upsampling branch')
    if rpe and (up_target == 'none' or branches == 'attn'):
        raise ValueError(f"pos_embed='rpe' is appendix E's EMSAv2 with relative positions: it "
                         f"needs the upsampling branch (up_target='v', branches='both'), got "
                         f'up_target={up_target!r}, branches={branches!r}')
    varied = [name for name, on in (('up_target', up_target in ('k', 'x')),
                                    ('up_mode', up_mode != 'pixel_shuffle'),
                                    ("pos_embed='rpe'", rpe)) if on]
    if len(varied) > 1:
        raise ValueError(f'{" and ".join(varied)} are ablated one at a time (ResTv2 Table 2a, '
                         f'Table 2b, appendix E); set one of them, got up_target={up_target!r}, '
                         f'up_mode={up_mode!r}, pos_embed={"rpe" if rpe else "not rpe"}')


def build_emsa(embed_dims: int, num_heads: int, sr_ratio: int, *, qkv_bias: bool = True,
               norm_cfg: dict = NORM_CFG, up_target: str = 'v', up_mode: str = 'pixel_shuffle',
               branches: str = 'both', mhim: bool = False,
               rpe_size: Optional[Tuple[int, int]] = None) -> nn.Module:
    """The attention of a ResT block for the paper's switches (table in the module docstring);
    the defaults give :class:`EMSAv2`, the released model (same state dict).

    Args:
        embed_dims, num_heads, sr_ratio, qkv_bias, norm_cfg: As :class:`EMSAv2`.
        up_target (str): ``'v'``, ``'k'``, ``'x'`` or ``'none'`` (Table 2a).
        up_mode (str): ``'pixel_shuffle'``, ``'nearest'`` or ``'bilinear'`` (Table 2b).
        branches (str): ``'both'``, ``'attn'`` or ``'conv'`` (Table 2c).
        mhim (bool): Multi-head interaction (appendix B; ResTv1's EMSA).
        rpe_size (tuple[int, int], optional): Input map size of the RPE tables (appendix E);
            None: no RPE.

    Raises:
        ValueError / TypeError: see :func:`check_switches` and :class:`EMSA`.
    """
    check_switches(up_target, up_mode, branches, mhim, rpe_size is not None)
    args = (embed_dims, num_heads, sr_ratio)
    common = dict(qkv_bias=qkv_bias, norm_cfg=norm_cfg)
    if branches == 'conv':
        return DownUpConvNet(*args, up_mode=up_mode, value_proj=up_target == 'v', **common)
    if branches == 'attn' or up_target == 'none':
        return EMSA(*args, mhim=mhim, **common)
    if up_target != 'v':
        return {'k': EMSAv2UpK, 'x': EMSAv2UpX}[up_target](*args, mhim=mhim, **common)
    if up_mode != 'pixel_shuffle':
        return EMSAv2UpMode(*args, up_mode=up_mode, mhim=mhim, **common)
    if rpe_size is not None:
        return EMSAv2RPE(*args, rpe_size=rpe_size, mhim=mhim, **common)
    return EMSAv2(*args, mhim=mhim, **common)
