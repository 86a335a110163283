# Paper 5.1 / Table 3 ablation, "x1" schedule. HWin: windows in all blocks but the last of each stage.
_base_ = './mask_rcnn_restv2_t_global_1x.py'
style = 'hwin'
model = dict(backbone=dict(style=style))
