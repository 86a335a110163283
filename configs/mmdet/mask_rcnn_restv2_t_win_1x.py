# Paper 5.1 / Table 3 ablation, "x1" schedule. Win: EMSAv2 of every block inside 64/32/16/8-token windows.
_base_ = './mask_rcnn_restv2_t_global_1x.py'
style = 'win'
model = dict(backbone=dict(style=style))
