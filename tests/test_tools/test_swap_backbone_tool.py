"""tools/misc/swap_backbone.py: a config that inherits a stock one with our backbone, as a user
writes it; and the written config trains with tools/train.py on real COCO images."""
import os.path as osp

import pytest
from mmengine.config import Config

from helpers import load_tool, run_tool

pytestmark = pytest.mark.mmcv_ops
swap_tool = load_tool('tools/misc/swap_backbone.py')
RETINANET = 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'


def test_writes_a_config_inheriting_the_stock_one(tmp_path, capsys):
    out = tmp_path / 'retinanet_restv2_win.py'
    swap_tool.main([RETINANET, '--backbone', 'restv2-tiny', '--out', str(out), '--checkpoint',
                    'restv2_tiny_224.pth', '--backbone-options', 'style=win', 'drop_path_rate=0.1'])
    printed = capsys.readouterr().out
    assert 'out_indices (0, 1, 2, 3)' in printed and 'find_unused_parameters' in printed
    cfg = Config.fromfile(str(out))
    assert out.read_text().count('\n_base_ = ') == 1
    assert cfg.model.backbone.to_dict() == dict(
        type='ResTv2', arch='tiny', style='win', drop_path_rate=0.1, out_indices=(0, 1, 2, 3),
        init_cfg=dict(type='Pretrained', checkpoint='restv2_tiny_224.pth'))
    assert cfg.model.neck.in_channels == [96, 192, 384, 768]  # ResTv2-T, paper Table 1
    # RetinaNet's FPN starts at stride 8: level 0's output norm gets no gradient.
    assert cfg.find_unused_parameters is True
    assert cfg.model.bbox_head.num_classes == 80 and cfg.custom_imports.imports == ['restv2_mm']


def test_refuses_to_overwrite_and_names_what_cannot_be_met(tmp_path, capsys):
    out = tmp_path / 'mine.py'
    out.write_text('# mine\n')
    with pytest.raises(SystemExit):
        swap_tool.main([RETINANET, '--backbone', 'rmt-tiny', '--out', str(out)])
    assert 'exists; add --force' in capsys.readouterr().err
    assert out.read_text() == '# mine\n'
    with pytest.raises(SystemExit, match='model.roi_head.shared_head'):
        swap_tool.main(['mmdet::faster_rcnn/faster-rcnn_r50-caffe_c4-1x_coco.py', '--backbone',
                        'rmt-tiny', '--out', str(tmp_path / 'c4.py')])
    assert not osp.exists(tmp_path / 'c4.py')
    with pytest.raises(SystemExit):
        swap_tool.main([RETINANET, '--backbone', 'resnet-50', '--out', str(tmp_path / 'x.py')])


@pytest.mark.slow
def test_the_written_config_trains_with_tools_train(tmp_path, data_root):
    """Two iterations of RetinaNet with RMT-T on two coco_mini images at 256 px, through the
    stock pipeline and tools/train.py; only the data root, the image size and the schedule (no
    validation, no checkpoint) are set on the command line."""
    out = tmp_path / 'retinanet_rmt_t.py'
    swap_tool.main([RETINANET, '--backbone', 'rmt-tiny', '--out', str(out)])
    work_dir = tmp_path / 'work'
    proc = run_tool([
        'tools/train.py', str(out), '--work-dir', str(work_dir), '--cfg-options',
        f'train_dataloader.dataset.data_root={osp.join(data_root, "coco_mini")}/',
        'train_dataloader.dataset.indices=2', 'train_dataloader.batch_size=1',
        'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
        'train_dataloader.dataset.pipeline.2.scale=(256,256)', 'train_cfg.max_epochs=1',
        'val_cfg=None', 'val_dataloader=None', 'val_evaluator=None', 'default_hooks.logger.interval=1',
        'default_hooks.checkpoint.interval=2', 'default_hooks.checkpoint.save_last=False'])
    assert 'Epoch(train) [1][2/2]' in proc.output and 'loss_cls' in proc.output
