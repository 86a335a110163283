"""Mixed precision: one bf16 autocast training step of the shipped classifier and
segmentor gives a finite loss and finite gradients on the CPU; AMP configs fall back where the
hardware lacks it."""
import warnings

import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.registry import init_default_scope

from helpers import load_config
from restv2_mm.cli.config import resolve_amp

# The shipped configs with a narrow ResTv2 (every layer kind, one block a stage): bf16 grouped
# convolutions have no fast CPU kernel without AVX512-BF16 (~1 s per depth-wise conv call on AVX2),
# so the full ResTv2-T step takes minutes here; on GPUs and in training bf16 is unaffected (on the
# CPU resolve_amp trains in fp32).
NARROW = dict(embed_dims=[32, 64, 128, 256], depths=[1, 1, 1, 1], num_heads=[1, 2, 4, 8],
              sr_ratios=[8, 4, 2, 1])


def build(config, narrow=False, size=None):
    """The config's model; ``narrow``: the NARROW backbone; ``size``: the segmentor's
    preprocessor pads to ``size`` x ``size`` instead of the recipe's crop."""
    cfg = load_config(config)
    if size and 'mmseg' in config:
        cfg.model.data_preprocessor.size = (size, size)
    if narrow:
        cfg.model.backbone.arch = NARROW
        cfg.model.backbone.pop('init_cfg', None)
        if 'mmseg' in config:
            cfg.model.decode_head.in_channels = NARROW['embed_dims']
            cfg.model.decode_head.channels = 64
            cfg.model.auxiliary_head.in_channels = NARROW['embed_dims'][2]
            cfg.model.auxiliary_head.channels = 64
        else:
            cfg.model.head.in_channels = NARROW['embed_dims'][-1]
    init_default_scope(cfg.default_scope)
    registry = __import__(f'{cfg.default_scope}.registry', fromlist=['MODELS']).MODELS
    if cfg.get('data_preprocessor'):  # the runner does this for the stock configs
        cfg.model.setdefault('data_preprocessor', cfg.data_preprocessor)
    return registry.build(cfg.model)


@pytest.mark.parametrize('config,size', [
    ('configs/mmpretrain/restv2_t_8xb256_in1k.py', 64),
    pytest.param('configs/mmseg/upernet_restv2_t_512x512_160k_ade20k.py', 32,
                 marks=pytest.mark.mmcv_ops),
])
def test_bf16_autocast_step_is_finite(config, size):
    model = build(config, narrow=True, size=size).train()
    batch = dict(inputs=[torch.randint(0, 256, (3, size, size), dtype=torch.uint8)
                         for _ in range(2)])
    if 'mmpretrain' in config:
        from mmpretrain.structures import DataSample
        batch['data_samples'] = [DataSample().set_gt_label(i) for i in (3, 7)]
    else:
        from mmengine.structures import PixelData
        from mmseg.structures import SegDataSample
        samples = []
        for _ in range(2):
            s = SegDataSample(metainfo=dict(img_shape=(size, size), pad_shape=(size, size)))
            s.gt_sem_seg = PixelData(data=torch.randint(0, 150, (1, size, size)))
            samples.append(s)
        batch['data_samples'] = samples
    data = model.data_preprocessor(batch, True)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        losses = model(**data, mode='loss')
    loss = sum(v for k, v in losses.items() if 'loss' in k)
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert len(grads) > 50 and all(torch.isfinite(g).all() for g in grads)


def test_amp_falls_back_where_the_hardware_lacks_it(monkeypatch):
    wrapper = ConfigDict(type='AmpOptimWrapper', dtype='bfloat16', loss_scale='dynamic')
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        resolve_amp(wrapper)
    assert wrapper.type == 'OptimWrapper' and 'dtype' not in wrapper and 'loss_scale' not in wrapper
    assert any('fp32' in str(w.message) for w in caught)
    wrapper = ConfigDict(type='AmpOptimWrapper', dtype='bfloat16')  # a GPU before Ampere
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(torch.cuda, 'is_bf16_supported', lambda: False)
    monkeypatch.setattr(torch.cuda, 'get_device_name', lambda: 'Tesla V100')
    with warnings.catch_warnings(record=True):
        warnings.simplefilter('always')
        resolve_amp(wrapper)
    assert wrapper.type == 'AmpOptimWrapper' and wrapper.dtype == 'float16'
    assert wrapper.loss_scale == 'dynamic'
