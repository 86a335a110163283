"""``pretrained`` as users write it reaches the model's init_cfg through the tools' config loading
(``restv2_mm.cli.apply_common_args``: ``--cfg-options pretrained=PATH``, or a config that inherits
ours and sets it), and the fine-tuning recipes (COCO, ADE20K, ImageNet 384) refuse to start from
random weights unless told (``init_cfg.required``). README's own command, with a real checkpoint:
tests/test_docs/test_snippets.py."""
import glob
import os.path as osp
import warnings

import pytest
import torch

from helpers import REPO, load_config, load_tool, logged, run_tool
from restv2_mm.cli import apply_common_args
from restv2_mm.cli.pretrained import pretrained_inits
from restv2_mm.models import ResTv2

CONFIGS = sorted(osp.relpath(p, osp.join(REPO, 'configs'))
                 for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True))
DEMOS = [c for c in CONFIGS if '/demo/' in c]
# The paper recipes that start from ImageNet weights: every detector and segmentor, the 384 fine-tunes.
FINE_TUNING = [c for c in CONFIGS if c not in DEMOS and (c.startswith(('mmdet/', 'mmseg/')) or '384px' in c)]
# ImageNet 224 from scratch: a checkpoint is optional (RMT's init_cfg) or has no place (ResTv2's).
FROM_SCRATCH = [c for c in CONFIGS if c not in DEMOS + FINE_TUNING]


def tool_config(config, *options, resume=None):
    """The config tools/train.py runs for ``CONFIG --cfg-options OPTIONS [--resume CKPT]``: its own
    argument parser, then the tools' config loading (``config``: under configs/, or absolute)."""
    argv = [config if osp.isabs(config) else osp.join(REPO, 'configs', config)]
    argv += ['--cfg-options', *options] if options else []
    argv += ['--resume', resume] if resume else []
    args = load_tool('tools/train.py').parse_args(argv)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # AMP falls back to fp32 on the CPU
        return apply_common_args(load_config(args.config), args)


def inits(cfg):
    return dict(pretrained_inits(cfg.model))


def test_the_config_groups():
    assert len(FINE_TUNING) >= 40 and len(DEMOS) >= 5 and len(FROM_SCRATCH) >= 20
    assert 'mmdet/mask_rcnn_restv2_t_3x.py' in FINE_TUNING
    assert 'mmpretrain/restv2_t_8xb64_in1k-384px.py' in FINE_TUNING
    assert 'mmpretrain/rmt_t_8xb128_in1k.py' in FROM_SCRATCH


@pytest.mark.parametrize('config', FINE_TUNING + [c for c in FROM_SCRATCH if 'rmt_' in c])
def test_pretrained_option_reaches_every_checkpoint_init(config):
    cfg = tool_config(config)
    assert 'pretrained' in cfg and cfg.pretrained is None
    found = inits(cfg)
    assert found and all(init.checkpoint is None for init in found.values())
    # Fine-tuning from ImageNet weights: each init refuses to start without a checkpoint.
    assert all(init.get('required', False) == (config in FINE_TUNING) for init in found.values()), found
    cfg = tool_config(config, 'pretrained=in1k.pth')
    assert 'model.backbone.init_cfg' in found
    assert {k: init.checkpoint for k, init in inits(cfg).items()} == dict.fromkeys(found, 'in1k.pth')


@pytest.mark.parametrize('base', ['mmdet/mask_rcnn_restv2_t_3x.py',
                                  'mmseg/upernet_restv2_s_512x512_160k_ade20k.py',
                                  'mmpretrain/rmt_s_8xb64_in1k-384px.py'])
def test_a_config_that_inherits_ours_sets_pretrained(tmp_path, base):
    mine = tmp_path / 'mine.py'
    mine.write_text(f"_base_ = {osp.join(REPO, 'configs', base)!r}\npretrained = 'mine.pth'\n")
    found = inits(tool_config(str(mine)))
    assert len(found) == (3 if '384px' in base else 1)  # RMT-S 384: backbone, neck and head
    assert all(init.checkpoint == 'mine.pth' for init in found.values()), found


def test_an_explicit_init_cfg_checkpoint_wins():
    key = 'model.backbone.init_cfg.checkpoint'
    cfg = tool_config('mmdet/mask_rcnn_restv2_t_3x.py', f'{key}=mine.pth')
    assert cfg.model.backbone.init_cfg.checkpoint == 'mine.pth'
    cfg = tool_config('mmpretrain/restv2_t_8xb64_in1k-384px.py', f'{key}=mine.pth', 'pretrained=in1k.pth')
    assert (cfg.model.backbone.init_cfg.checkpoint, cfg.model.head.init_cfg.checkpoint) == \
        ('mine.pth', 'in1k.pth')


def test_pretrained_that_no_init_cfg_takes_is_an_error():  # B68
    with pytest.raises(ValueError, match="pretrained='in1k.pth' is set, but no init_cfg of the model "
                                         'takes it .*none loads a checkpoint.*load_from'):
        tool_config('mmpretrain/restv2_t_8xb256_in1k.py', 'pretrained=in1k.pth')
    with pytest.raises(ValueError, match=r"each names its own file: model\.backbone\.init_cfg\."
                                         r"checkpoint='mine\.pth'"):
        tool_config('mmdet/mask_rcnn_restv2_t_3x.py', 'model.backbone.init_cfg.checkpoint=mine.pth',
                    'pretrained=in1k.pth')


def test_fine_tuning_refuses_random_weights_unless_told():
    from mmdet.registry import MODELS
    cfg = tool_config('mmdet/mask_rcnn_restv2_t_3x.py')
    with pytest.raises(ValueError, match=r'model\.backbone\.init_cfg\.checkpoint is not set.*'
                                         r'--cfg-options pretrained=PATH.*required=False'):
        MODELS.build(cfg.model.backbone).init_weights()
    cfg = tool_config('mmdet/mask_rcnn_restv2_t_3x.py', 'model.backbone.init_cfg.required=False')
    log = logged(MODELS.build(cfg.model.backbone).init_weights)
    assert 'backbone starts from random initialisation' in log


def test_resume_and_load_from_need_no_imagenet_checkpoint(tmp_path):
    ckpt = tmp_path / 'iter_10.pth'
    # A training checkpoint as --resume checks it before the runner starts (meta, weights, optimizer).
    torch.save(dict(meta=dict(epoch=1, iter=10), state_dict={}, optimizer={}), ckpt)
    config = 'mmpretrain/rmt_s_8xb64_in1k-384px.py'
    assert all(init.required for init in inits(tool_config(config)).values())
    for cfg in (tool_config(config, resume=str(ckpt)), tool_config(config, f'load_from={ckpt}')):
        assert not any(init.required for init in inits(cfg).values())
    # With pretrained too, it still loads (and load_from then overwrites it).
    cfg = tool_config(config, f'load_from={ckpt}', 'pretrained=in1k.pth')
    assert all(init.checkpoint == 'in1k.pth' for init in inits(cfg).values())


@pytest.mark.parametrize('config', DEMOS)
def test_demo_configs_are_seeded_and_start_from_random_weights(config):
    cfg = load_config(osp.join('configs', config))
    assert isinstance(cfg.randomness.seed, int)  # a rerun repeats the figures (docs/demos.md)
    assert not any(init.get('required') for init in inits(cfg).values())


@pytest.mark.slow
def test_training_log_shows_the_checkpoint_loaded(tmp_path, data_root):
    torch.manual_seed(1)
    state = ResTv2('tiny').state_dict()
    torch.save({'model': state}, tmp_path / 'in1k.pth')
    work = tmp_path / 'work'
    config = 'configs/mmdet/demo/mask_rcnn_restv2_t_coco_mini.py'
    out = run_tool(['tools/train.py', config, '--work-dir', work,
                    '--cfg-options', f'pretrained={tmp_path / "in1k.pth"}', 'train_cfg.max_iters=1',
                    'val_cfg=None', 'val_dataloader=None', 'val_evaluator=None',
                    'default_hooks.checkpoint.interval=1'], data_root=data_root).output
    line = f'loaded {tmp_path / "in1k.pth"} (model weights) into ResTv2: {len(state)} tensors'
    log_file, = glob.glob(str(work / '*' / '*.log'))
    assert line in out and line in open(log_file).read()
    assert 'no pretrained checkpoint given' not in out
    trained = torch.load(work / 'iter_1.pth', map_location='cpu', weights_only=False)['state_dict']
    # One AdamW step at lr 2e-6 (the warm-up's first) moves a weight by at most ~2e-6.
    name = 'stage3.2.mlp.fc1.weight'
    torch.testing.assert_close(trained['backbone.' + name], state[name], rtol=0, atol=1e-5)


@pytest.mark.parametrize('config', ['mmseg/fpn_pvtv2_b2_512x512_40k_ade20k.py',
                                    'mmdet/mask_rcnn_restv2_t_3x.py'])
def test_training_stops_before_building_without_a_required_checkpoint(config):
    from restv2_mm.cli import check_pretrained_given
    with pytest.raises(ValueError, match=r'model\.backbone\.init_cfg\.checkpoint is not set.*'
                                         r'--cfg-options pretrained=PATH'):
        check_pretrained_given(tool_config(config))
    check_pretrained_given(tool_config(config, 'pretrained=in1k.pth'))
    check_pretrained_given(tool_config(config, 'model.backbone.init_cfg.required=False'))
