"""The pre-logits of the official RMT classifier, as an mmpretrain neck."""
from typing import Optional, Sequence, Tuple, Union

import torch
from mmcv.cnn import build_activation_layer, build_norm_layer
from mmengine.model import BaseModule
from torch import nn

from ..common.defaults import CONV_NORM_CFG


class RMTClsNeck(BaseModule):
    """Linear(C -> 1024) at every position, BatchNorm, Swish, global average pooling.

    What the official ``VisRetNet.forward_features`` (``classfication_release/RMT.py``) does to the
    last stage before its ``head`` Linear(1024, 1000); with mmpretrain's ``LinearClsHead`` after
    it, an ``ImageClassifier`` computes the official logits. Module names ``proj`` and ``norm`` are
    the official ones (under ``neck.`` once converted).

    Args:
        in_channels (int): Channels C of the last stage (512 for RMT-T/S/B, 640 for RMT-L).
        out_channels (int): Projection width (official ``projection=1024``). Default: 1024.
        conv_norm_cfg (dict): The BatchNorm. Default: ``dict(type='BN')``.
        act_cfg (dict): Activation (official ``MemoryEfficientSwish``, x * sigmoid(x)).
            Default: ``dict(type='Swish')``.
        init_cfg (dict | list, optional): Default: trunc-normal std 0.02 on the Linear, zero bias
            (the official ``_init_weights``).

    Shape:
        inputs: a tensor or a tuple whose last item is (N, C, H, W) -> tuple with (N, out_channels).
    """

    def __init__(self, in_channels: int = 512, out_channels: int = 1024,
                 conv_norm_cfg: dict = CONV_NORM_CFG, act_cfg: dict = dict(type='Swish'),
                 init_cfg: Optional[Union[dict, list]] = dict(type='TruncNormal', layer='Linear',
                                                              std=.02, bias=0.)):
        super().__init__(init_cfg=init_cfg)
        self.proj = nn.Linear(in_channels, out_channels)
        self.norm = build_norm_layer(conv_norm_cfg, out_channels)[1]
        self.act = build_activation_layer(act_cfg)
        self.pool = nn.AdaptiveAvgPool1d(1)

    def forward(self, inputs: Union[torch.Tensor, Sequence[torch.Tensor]]
                ) -> Tuple[torch.Tensor]:
        x = inputs if isinstance(inputs, torch.Tensor) else inputs[-1]
        x = self.proj(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        x = self.act(self.norm(x)).flatten(2)
        return (self.pool(x).flatten(1), )
