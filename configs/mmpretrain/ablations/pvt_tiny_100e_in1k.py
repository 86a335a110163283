# Appendix A PVT-Tiny: mmdet's PyramidVisionTransformer (v1) with PVT-Tiny's blocks {2, 2, 2, 2}, as
# a classifier (global average pooling + linear head) on the ablation recipe. It is built through
# PVTEMSAv2 without its branch (the same modules and state dict; outputs as a tuple, which
# mmpretrain's neck needs). norm_after_stage puts a LayerNorm after every stage (PVT's classifier
# has one after the last: 1,024 parameters fewer).
# Paper: 13.27M, 1.94G, 1144 img/s (V100), 70.46 top-1.
_base_ = './restv2_t_100e_in1k.py'

model = dict(
    backbone=dict(
        _delete_=True,
        type='PVTEMSAv2',
        up_target='none',
        num_layers=[2, 2, 2, 2],
        norm_after_stage=True,
        out_indices=(3, ),
        drop_path_rate=0.1),
    head=dict(in_channels=512))
