"""Mixed precision: one bf16 autocast training step of the shipped classifier and segmentor gives
a finite loss and finite gradients on the CPU, with CPU autocast's casts and with CUDA autocast's
(tests/gpu_emulation.py); AMP configs pick what the GPU computes natively (device properties
stubbed, the decision real) and run bf16 without a loss scaler."""
import contextlib
import types
import warnings

import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.registry import init_default_scope

from gpu_emulation import NoSyncGuard, cuda_autocast_lists, stub_gpus
from helpers import load_config
from restv2_mm.cli.config import apply_common_args, resolve_amp

A100, T4, V100 = ('NVIDIA A100-SXM4-80GB', (8, 0)), ('Tesla T4', (7, 5)), ('Tesla V100-SXM2-16GB', (7, 0))
BF16_CONFIGS = ['configs/mmpretrain/restv2_t_8xb256_in1k.py',
                'configs/mmseg/fpn_restv2_t_512x512_80k_ade20k.py',
                'configs/mmseg/upernet_restv2_t_512x512_160k_ade20k.py',
                'configs/mmdet/retinanet_restv2_t_1x.py', 'configs/mmdet/mask_rcnn_restv2_t_3x.py',
                'configs/mmdet/cascade_mask_rcnn_restv2_t_3x.py']

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
@pytest.mark.parametrize('lists', ['cpu', 'cuda'])
def test_bf16_autocast_step_is_finite(config, size, lists):
    """``lists='cuda'``: CPU autocast with CUDA autocast's casts, the dtype flow of a GPU."""
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
    emulation = cuda_autocast_lists() if lists == 'cuda' else contextlib.nullcontext()
    with emulation, torch.autocast('cpu', dtype=torch.bfloat16):
        feats = model.backbone(data['inputs'])
        losses = model(**data, mode='loss')
    # The backbone's outputs leave its LayerNorms: fp32 under CUDA autocast (AT_FORALL_FP32 lists
    # layer_norm), bf16 under CPU autocast (its lists do not).
    assert {f.dtype for f in feats} == {torch.float32 if lists == 'cuda' else torch.bfloat16}
    loss = sum(v for k, v in losses.items() if 'loss' in k)
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert len(grads) > 50 and all(torch.isfinite(g).all() for g in grads)


def test_amp_without_cuda_trains_in_fp32(monkeypatch):
    wrapper = ConfigDict(type='AmpOptimWrapper', dtype='bfloat16', loss_scale=dict(enabled=False))
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    with pytest.warns(UserWarning, match='fp32'):
        resolve_amp(wrapper)
    assert wrapper.type == 'OptimWrapper' and 'dtype' not in wrapper and 'loss_scale' not in wrapper


@pytest.mark.parametrize('gpus,local_rank,expected', [
    ([A100], None, ('bfloat16', dict(enabled=False))),
    ([T4], None, ('float16', 'dynamic')),  # sm_75: bf16 only emulated (is_bf16_supported() says True)
    ([V100], None, ('float16', 'dynamic')),
    ([A100, T4], '1', ('float16', 'dynamic')),  # this rank's device, not GPU 0
    ([T4, A100], '1', ('bfloat16', dict(enabled=False))),
])
def test_amp_dtype_follows_this_ranks_device(monkeypatch, gpus, local_rank, expected):
    asked = stub_gpus(monkeypatch, *gpus)
    if local_rank is None:
        monkeypatch.delenv('LOCAL_RANK', raising=False)
    else:
        monkeypatch.setenv('LOCAL_RANK', local_rank)
    wrapper = ConfigDict(type='AmpOptimWrapper', dtype='bfloat16', loss_scale=dict(enabled=False))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        resolve_amp(wrapper)
    assert (wrapper.dtype, wrapper.loss_scale) == expected
    assert set(asked) == {int(local_rank or 0)}  # only this rank's device was asked about
    if expected[0] == 'float16':
        name, (major, minor) = gpus[int(local_rank or 0)]
        assert any(f'{name} (sm_{major}{minor}) has no native bf16' in str(w.message) for w in caught)


def test_amp_loss_scale_settings(monkeypatch):
    stub_gpus(monkeypatch, A100)
    wrapper = ConfigDict(type='AmpOptimWrapper', dtype='bfloat16', loss_scale='dynamic')
    with pytest.warns(UserWarning, match='needs no loss scaling'):
        resolve_amp(wrapper)
    assert wrapper.loss_scale == dict(enabled=False)
    fp16 = ConfigDict(type='AmpOptimWrapper', dtype='float16', loss_scale=512.)  # RMT's configs
    resolve_amp(fp16)
    assert (fp16.dtype, fp16.loss_scale) == ('float16', 512.)
    stub_gpus(monkeypatch, T4)
    static = ConfigDict(type='AmpOptimWrapper', dtype='bfloat16', loss_scale=512.)
    with pytest.warns(UserWarning):
        resolve_amp(static)
    assert (static.dtype, static.loss_scale) == ('float16', 512.)  # the user's own scale stays


@pytest.mark.parametrize('gpu,expected', [(A100, ('bfloat16', dict(enabled=False))),
                                          (T4, ('float16', 'dynamic'))])
def test_amp_flag(monkeypatch, tmp_path, gpu, expected):
    stub_gpus(monkeypatch, gpu)
    cfg = load_config('configs/mmpretrain/demo/restv2_t_imagenet_mini.py')
    args = types.SimpleNamespace(config='c.py', work_dir=str(tmp_path), amp=True)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        cfg = apply_common_args(cfg, args)
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert (cfg.optim_wrapper.dtype, cfg.optim_wrapper.loss_scale) == expected


@pytest.mark.parametrize('config', BF16_CONFIGS)
def test_bf16_configs_build_no_loss_scaler(monkeypatch, config):
    """mmengine's AmpOptimWrapper builds a GradScaler whatever the dtype; the configs' loss_scale
    makes it a pass-through, so a step reads nothing back from the GPU. Built as the stock tools
    (mim, mmdet's tools/train.py) build it, without :func:`resolve_amp`."""
    from mmengine.optim import build_optim_wrapper
    stub_gpus(monkeypatch, A100)
    wrapper_cfg = load_config(config).optim_wrapper
    wrapper_cfg.pop('constructor', None)  # the layer-wise decay needs the backbone; not asked here
    wrapper_cfg.pop('paramwise_cfg', None)
    wrapper_cfg.pop('clip_grad', None)  # mmengine logs the clipped norm with float(): its own sync
    # AdamW reads its CPU step counter with .item(): on a GPU that counter stays on the host.
    wrapper_cfg.optimizer = dict(type='SGD', lr=0.1)
    model = torch.nn.Linear(4, 2)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # torch.cuda.amp.GradScaler's deprecation
        wrapper = build_optim_wrapper(model, wrapper_cfg)
    assert wrapper.cast_dtype == torch.bfloat16 and not wrapper.loss_scaler.is_enabled()
    monkeypatch.undo()  # the step runs on the CPU
    with NoSyncGuard():
        wrapper.update_params(model(torch.randn(3, 4)).square().mean())
    assert wrapper.state_dict()['loss_scaler'] == {}
