# Semantic FPN + ResTv2-T on ADE20K, 512x512 crops, 40k iterations. Not in the ResTv2 paper.
# Framework recipe: the PVTv2 paper's Semantic FPN (4.3), the recipe of its Table 5 and of
# fpn_pvtv2_b2_512x512_40k_ade20k.py, which inherits this file: AdamW lr 1e-4, weight decay 1e-4
# (the PVTv2 release; the paper gives none), poly decay (power 0.9) to 0 over 40k iterations,
# batch 16, random resize and 512x512 crop, evaluation and a checkpoint every 4000 iterations.
# The ResTv2 segmentation rule (docs/configs.md) and everything else as
# fpn_restv2_t_512x512_80k_ade20k.py, which differs in the schedule only.
_base_ = './fpn_restv2_t_512x512_80k_ade20k.py'
param_scheduler = [
    dict(type='PolyLR', eta_min=0., power=0.9, begin=0, end=40000, by_epoch=False),
]
train_cfg = dict(max_iters=40000, val_interval=4000)
