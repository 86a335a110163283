# Paper 5.1 / Table 3 ablation, "x1" schedule. CWin: Win plus a residual 7x7 depth-wise conv after each stage.
_base_ = './mask_rcnn_restv2_t_global_1x.py'
style = 'cwin'
model = dict(backbone=dict(style=style))
