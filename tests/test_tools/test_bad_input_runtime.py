"""Bad configs, checkpoints, paths and interrupted writes: the rows of docs/bad_inputs.md that are
not backbone arguments, and a check that every row of that table is tested somewhere."""
import glob
import os
import os.path as osp
import re
from unittest import mock

import pytest
import torch
from mmengine.config import Config

from helpers import REPO, load_config, load_tool, run_tool
from restv2_mm.apis import check_model_channels
from restv2_mm.cli import (
    apply_common_args,
    check_run_settings,
    check_whole_model_checkpoint,
    latest_checkpoint,
    resume_checkpoint,
)
from restv2_mm.engine import AtomicLocalBackend
from restv2_mm.models import ResTv2

DEMO = 'configs/mmdet/demo/mask_rcnn_restv2_t_coco_mini.py'


@pytest.mark.parametrize('value,word', [(float('nan'), '1 NaN and 0 Inf'),  # B06
                                        (float('-inf'), '0 NaN and 1 Inf')])  # B07
def test_non_finite_input_says_where(value, word):
    x = torch.randn(2, 3, 40, 48)
    x[1, 2, 17, 5] = value
    with pytest.raises(ValueError) as info:
        ResTv2('tiny', out_indices=(0, )).eval()(x)
    assert word in str(info.value) and '(n, c, h, w) = (1, 2, 17, 5)' in str(info.value)


def test_neck_channels_must_match_backbone():  # B17
    cfg = load_config('configs/mmdet/mask_rcnn_restv2_t_3x.py')
    check_model_channels(cfg.model)  # the shipped config is consistent
    cfg.model.backbone.arch = 'large'
    with pytest.raises(ValueError) as info:
        check_model_channels(cfg.model)
    msg = str(info.value)
    assert 'model.neck.in_channels=[96, 192, 384, 768]' in msg and '[128, 256, 512, 1024]' in msg
    assert "arch='large'" in msg


def test_decode_head_channels_must_match_backbone():  # B18
    cfg = load_config('configs/mmseg/upernet_restv2_t_512x512_160k_ade20k.py')
    check_model_channels(cfg.model)
    cfg.model.backbone.out_indices = (1, 2, 3)
    with pytest.raises(ValueError, match=r'model.decode_head.in_index=\[0, 1, 2, 3\] points past'):
        check_model_channels(cfg.model)
    cfg.model.backbone.out_indices = (0, 1, 2, 3)
    cfg.model.decode_head.in_channels = [96, 192, 384, 384]
    with pytest.raises(ValueError, match=r'decode_head.in_channels=\[96, 192, 384, 384\] does not '
                                         r'match the channels \[96, 192, 384, 768\]'):
        check_model_channels(cfg.model)


def test_classifier_head_channels_must_match_backbone():  # B18
    cfg = load_config('configs/mmpretrain/restv2_t_8xb256_in1k.py')
    check_model_channels(cfg.model)
    cfg.model.head.in_channels = 1024
    with pytest.raises(ValueError, match=r'model.head.in_channels=1024 does not match the '
                                         r'channels 768'):
        check_model_channels(cfg.model)


@pytest.mark.slow
def test_official_checkpoint_where_a_converted_one_is_expected(tmp_path, data_root):  # B23
    official = tmp_path / 'restv2_tiny_224.pth'
    torch.save({'model': ResTv2('tiny').state_dict()}, official)
    cfg = load_config(DEMO)
    with pytest.raises(ValueError) as info:
        check_whole_model_checkpoint(str(official), cfg)
    msg = str(info.value)
    assert str(official) in msg and 'official ResTv2 checkpoint' in msg
    assert 'tools/model_converters/convert_official_ckpt.py' in msg and 'model.backbone.init_cfg' in msg
    # As a user meets it: tools/test.py stops before building anything.
    proc = run_tool(['tools/test.py', DEMO, official], data_root=data_root, check=False)
    assert proc.returncode != 0 and 'tools/model_converters/convert_official_ckpt.py' in proc.stderr


@pytest.mark.parametrize('tool', ['tools/train.py', 'tools/test.py'])
def test_cfg_options_item_without_value(tool, capsys):  # B74
    parse_args = load_tool(tool).parse_args
    with pytest.raises(SystemExit) as info:
        parse_args([DEMO, *(['iter_1.pth'] if 'test' in tool else []),
                    '--cfg-options', 'train_cfg.val_interval=2', 'train_cfg.max_iters'])
    assert info.value.code == 2
    assert ("--cfg-options takes key=value items (e.g. train_cfg.max_iters=10), got "
            "'train_cfg.max_iters'") in capsys.readouterr().err


@pytest.mark.parametrize('options,words', [
    ({'train_cfg.max_iters': 0}, 'train_cfg.max_iters must be a positive int, got 0'),  # B75
    ({'train_cfg.max_iters': 'abc'}, "train_cfg.max_iters must be a positive int, got 'abc'"),
    ({'train_cfg.val_interval': 0}, 'train_cfg.val_interval must be a positive int, got 0'),
    ({'train_dataloader.batch_size': 0}, 'train_dataloader.batch_size must be a positive int, got 0'),
    ({'val_dataloader.num_workers': -1}, 'val_dataloader.num_workers must be an int >= 0'),
])
def test_run_settings_are_named(options, words):
    cfg = load_config(DEMO)
    cfg.merge_from_dict(options)
    with pytest.raises(ValueError, match=re.escape(words)):
        check_run_settings(cfg)


@pytest.mark.parametrize('config,key', [
    ('configs/mmpretrain/rmt_t_8xb128_in1k.py', 'head'),  # after RMTClsNeck (1024)
    ('configs/mmdet/retinanet_restv2_t_1x.py', 'bbox_head'),  # after FPN (256)
])
def test_head_must_take_the_necks_width(config, key):  # B79
    cfg = load_config(config)
    check_run_settings(cfg)  # the shipped config is consistent
    width = cfg.model.neck.out_channels
    cfg.model[key].in_channels = 512 if width != 512 else 256
    with pytest.raises(ValueError, match=rf'model.{key}.in_channels=\d+ does not match '
                                         rf'model.neck.out_channels={width} \(the {cfg.model.neck.type}'):
        check_run_settings(cfg)


def test_work_dir_that_is_a_file(tmp_path):  # B75
    cfg = Config(dict(work_dir=str(tmp_path / 'log.txt')))
    (tmp_path / 'log.txt').write_text('')
    with pytest.raises(ValueError, match=r"work_dir '.*log.txt' is a file, not a folder \(--work-dir\)"):
        check_run_settings(cfg)


def test_out_metrics_that_is_a_folder_is_refused_before_testing(tmp_path):  # B78
    args = load_tool('tools/test.py').parse_args([DEMO, 'iter_1.pth', '--out-metrics', str(tmp_path)])
    with pytest.raises(ValueError, match=r"--out-metrics '.*' is a folder; give a file path"):
        apply_common_args(load_config(DEMO), args)


def test_resume_from_what_is_not_a_training_checkpoint(tmp_path):  # B76
    weights = str(tmp_path / 'weights.pth')
    torch.save({'state_dict': {'backbone.w': torch.ones(2)}}, weights)
    with pytest.raises(ValueError) as info:
        resume_checkpoint(weights)
    assert 'lacks meta.epoch, meta.iter, optimizer' in str(info.value)
    assert f'--cfg-options load_from={weights} without --resume' in str(info.value)
    text = tmp_path / 'notes.pth'
    text.write_text('not a checkpoint')
    with pytest.raises(RuntimeError, match='notes.pth.* is not a readable torch checkpoint'):
        resume_checkpoint(str(text))
    diverged = str(tmp_path / 'iter_8.pth')
    torch.save({'meta': {'epoch': 0, 'iter': 8}, 'optimizer': {},
                'state_dict': {'backbone.w': torch.tensor([float('nan')])}}, diverged)
    with pytest.raises(ValueError, match=r'(?s)NaN/Inf in 1 of the 1 tensors.*backbone.w: 1: backbone.w'):
        resume_checkpoint(diverged)
    listed = str(tmp_path / 'list.pth')
    torch.save([1, 2], listed)
    with pytest.raises(TypeError, match='list.pth: checkpoint holds no state dict'):  # B77
        check_whole_model_checkpoint(listed, load_config(DEMO))


def test_whole_model_checkpoint_with_non_finite_weights(tmp_path, monkeypatch):  # B72
    path = str(tmp_path / 'iter_100.pth')
    nan, inf = float('nan'), float('inf')
    torch.save({'meta': {'iter': 100}, 'state_dict': {
        'backbone.stem.proj.0.weight': torch.ones(2),
        'backbone.stage2.0.attn.q.weight': torch.tensor([nan, nan, 1.]),
        'backbone.stage2.1.attn.q.weight': torch.tensor([inf]),
        'neck.lateral_convs.0.conv.weight': torch.tensor([1., -inf]),
    }}, path)
    cfg = load_config(DEMO)
    with pytest.raises(ValueError) as info:
        check_whole_model_checkpoint(path, cfg)  # what tools/test.py and train.py (load_from) call
    msg = str(info.value)
    assert 'holds NaN/Inf in 3 of the 4 tensors that would load into the model' in msg
    assert 'backbone.stage2: 2: backbone.stage2.0.attn.q.weight, backbone.stage2.1.attn.q.weight' in msg
    assert 'neck: 1: neck.lateral_convs.0.conv.weight' in msg
    assert 'backbone.stage2.0.attn.q.weight (2 NaN, 0 Inf)' in msg and 'RESTV2_ALLOW_NON_FINITE=1' in msg
    monkeypatch.setenv('RESTV2_ALLOW_NON_FINITE', '1')
    check_whole_model_checkpoint(path, cfg)


@pytest.mark.slow
def test_missing_data_root_names_the_setting(tmp_path):  # B25
    proc = run_tool(['tools/train.py', DEMO, '--work-dir', tmp_path],
                    data_root=str(tmp_path / 'no_such_data'), check=False)
    assert proc.returncode != 0
    assert (f"train_dataloader.dataset.data_root='{tmp_path}/no_such_data/coco_mini/' does not "
            'exist') in proc.stderr, proc.stderr[-2000:]
    assert '$RESTV2_DATA' in proc.stderr


@pytest.mark.slow
def test_resume_from_missing_file(tmp_path, data_root):  # B26
    proc = run_tool(['tools/train.py', DEMO, '--work-dir', tmp_path, '--resume',
                     tmp_path / 'iter_9.pth'], data_root=data_root, check=False)
    assert proc.returncode != 0 and '--resume checkpoint not found' in proc.stderr
    assert 'iter_9.pth' in proc.stderr


def test_resume_skips_incomplete_checkpoints(tmp_path):  # B29
    good = tmp_path / 'iter_2.pth'
    torch.save({'meta': {'iter': 2}}, good)
    cut = tmp_path / 'iter_4.pth'
    cut.write_bytes(good.read_bytes()[:-30])  # cut by a crash (no central directory)
    (tmp_path / 'last_checkpoint').write_text(str(cut))
    with pytest.warns(UserWarning, match='missing or incomplete'):
        assert latest_checkpoint(str(tmp_path)) == str(good)
    os.remove(tmp_path / 'last_checkpoint')
    with pytest.warns(UserWarning, match='skipping incomplete checkpoint'):
        assert latest_checkpoint(str(tmp_path)) == str(good)
    assert latest_checkpoint(str(tmp_path / 'empty')) is None


def test_crash_while_writing_a_checkpoint_keeps_the_old_one(tmp_path):  # B30
    path = tmp_path / 'iter_4.pth'
    backend = AtomicLocalBackend()
    backend.put(b'old complete checkpoint', path)
    with mock.patch('os.fsync', side_effect=OSError(28, 'No space left on device')):
        with pytest.raises(OSError, match='No space left'):
            backend.put(b'new checkpoint, only half of it reached the disk', path)
    assert path.read_bytes() == b'old complete checkpoint'
    assert os.listdir(tmp_path) == ['iter_4.pth']  # no temporary file left behind
    backend.put_text('iter_4.pth', tmp_path / 'last_checkpoint')
    assert (tmp_path / 'last_checkpoint').read_text() == 'iter_4.pth'


def test_every_row_of_the_table_is_tested():
    table = open(osp.join(REPO, 'docs', 'bad_inputs.md')).read()
    rows = re.findall(r'^\| (B\d\d) \|', table, flags=re.M)
    assert len(rows) >= 20 and len(rows) == len(set(rows))
    tested = set()
    for path in glob.glob(osp.join(REPO, 'tests', '**', 'test_*.py'), recursive=True):
        if osp.basename(path) != osp.basename(__file__):
            tested |= set(re.findall(r'# (B\d\d)\b', open(path).read()))
    tested |= set(re.findall(r'# (B\d\d)\b', open(__file__).read().split('def test_every_row')[0]))
    assert sorted(set(rows) - tested) == [], 'rows without a test'
