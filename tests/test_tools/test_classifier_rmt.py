"""An official RMT ImageNet checkpoint: converted for mmpretrain it gives the official classifier's
logits in configs/mmpretrain/rmt_t_8xb128_in1k.py; given where a whole model is expected, a
clear error."""
import os.path as osp

import pytest
import torch

import restv2_mm  # noqa: F401
from helpers import REPO, load_config, run_tool
from restv2_mm.models import RMT, RMTClsNeck

CFG = osp.join(REPO, 'configs/mmpretrain/rmt_t_8xb128_in1k.py')


@pytest.fixture(scope='module')
def official(tmp_path_factory):
    """A random RMT-T classifier in the official layout (classfication_release/RMT.py names:
    backbone keys, proj, norm (BatchNorm), head), under 'model' with DataParallel's prefix."""
    torch.manual_seed(0)
    backbone = RMT('tiny', out_indices=(3, ), out_norm_cfg=None).eval()
    neck = RMTClsNeck(512).eval()
    for m in (neck.norm, backbone.patch_embed.proj[1]):  # non-trivial BatchNorm statistics
        m.running_mean.normal_()
        m.running_var.uniform_(0.5, 1.5)
    head = torch.nn.Linear(1024, 1000)
    state = dict(backbone.state_dict())
    state.update({k: v for k, v in neck.state_dict().items()})  # proj.*, norm.*
    state.update({'head.' + k: v for k, v in head.state_dict().items()})
    path = tmp_path_factory.mktemp('official') / 'rmt_t.pth'
    torch.save({'model': {'module.' + k: v for k, v in state.items()}, 'epoch': 299}, path)
    return path, backbone, neck, head


@pytest.mark.slow
def test_converter_round_trip(official, tmp_path):
    from mmpretrain import get_model
    src, backbone, neck, head = official
    dst = tmp_path / 'rmt_t_in1k.pth'
    run_tool(['tools/model_converters/convert_official_ckpt.py', src, dst])
    state = torch.load(dst, map_location='cpu')['state_dict']
    assert 'neck.proj.weight' in state and 'head.fc.weight' in state
    model = get_model(CFG, pretrained=False)
    model.load_state_dict(state, strict=True)  # nothing missing, nothing unexpected
    model.eval()
    x = torch.randn(2, 3, 96, 80)
    with torch.no_grad():
        want = head(neck(backbone(x))[0])
        assert torch.allclose(model(x, mode='tensor'), want, atol=1e-5)


def test_official_rmt_checkpoint_where_a_converted_one_is_expected(official):  # B46
    from restv2_mm.cli.checks import check_whole_model_checkpoint
    cfg = load_config('configs/mmdet/mask_rcnn_rmt_t_1x.py')
    with pytest.raises(ValueError) as info:
        check_whole_model_checkpoint(str(official[0]), cfg)
    msg = str(info.value)
    assert 'official RMT checkpoint' in msg and 'patch_embed.*' in msg
    assert 'convert_official_ckpt.py' in msg and 'model.backbone.init_cfg' in msg
