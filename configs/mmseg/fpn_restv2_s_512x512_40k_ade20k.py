# Semantic FPN + ResTv2-S on ADE20K, 40k iterations (not in the paper):
# fpn_restv2_t_512x512_40k_ade20k.py with the paper's ResTv2-S stochastic depth, 0.2.
_base_ = './fpn_restv2_t_512x512_40k_ade20k.py'
pretrained = None
model = dict(backbone=dict(arch='small', drop_path_rate=0.2, init_cfg=dict(checkpoint=pretrained)))
