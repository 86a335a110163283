"""FLOPs of RMT: every retention product counted, by hand, and tools/analyze_flops.py on RMT
configs (Conv / Linear / Matmul / Others)."""
import pytest
import torch
from torch import nn

import restv2_mm  # noqa: F401
from restv2_mm.analysis import analyze_flops
from restv2_mm.models.rmt import RetentionRelPos2d, RMTBlock


class _Block(nn.Module):
    def __init__(self, c, heads, decomposed):
        super().__init__()
        self.rel = RetentionRelPos2d(c, heads, 2, 4)
        self.blk = RMTBlock(c, heads, 3, decomposed).eval()
        self.decomposed = decomposed

    def forward(self, x):
        return self.blk(x, self.rel(x.shape[1:3], self.decomposed))


@pytest.mark.parametrize('decomposed', [True, False])
def test_one_rmt_block_by_hand(decomposed):
    c, heads, h, w = 32, 4, 6, 10
    hidden = 3 * c
    g = analyze_flops(_Block(c, heads, decomposed), torch.randn(1, h, w, c))['groups']
    assert g['Linear'] == h * w * (4 * c * c + 2 * c * hidden)     # q, k, v, out; fc1, fc2
    assert g['Conv'] == h * w * (c * 9 + c * 25 + hidden * 9)      # CPE 3x3, LCE 5x5, FFN 3x3
    if decomposed:  # QK^T and AV along every row (w x w), then along every column (h x h)
        assert g['Matmul'] == 2 * h * w * w * c + 2 * w * h * h * c
    else:  # QK^T and AV over all h*w tokens
        assert g['Matmul'] == 2 * (h * w) ** 2 * c


@pytest.mark.slow
def test_analyze_flops_tool_on_rmt_configs(capsys):
    """The classifier config gives the official model's figures (fvcore: 2.650617856 GFLOPs,
    14.334216M parameters, see test_rmt.py); the detector config reports the four groups."""
    import os.path as osp

    from helpers import REPO as repo
    from helpers import load_tool
    tool = load_tool('tools/analyze_flops.py')
    cls, = tool.main([osp.join(repo, 'configs/mmpretrain/rmt_t_8xb128_in1k.py')])
    assert cls['GFLOPs'] == 2.651 and cls['params_M'] == 14.334
    assert cls['Matmul'] > 0 and cls['Conv'] > 0 and cls['Linear'] > 0
    assert round(sum(cls[g] for g in ('Conv', 'Linear', 'Matmul', 'Others')), 3) == \
        pytest.approx(cls['GFLOPs'], abs=2e-3)
    det, = tool.main([osp.join(repo, 'configs/mmdet/mask_rcnn_rmt_t_1x.py'), '--shape', '160', '224'])
    assert det['Matmul'] > 0 and 0 < det['backbone_GFLOPs'] < det['GFLOPs']
    assert '| Conv | Linear | Matmul | Others |' in capsys.readouterr().out
