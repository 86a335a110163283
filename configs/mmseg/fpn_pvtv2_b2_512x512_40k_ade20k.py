# Semantic FPN + PVTv2-B2 on ADE20K, 512x512 crops, 40k iterations: the PVTv2 paper's recipe (4.3,
# Table 5: 29.1M parameters, 45.8 GFLOPs at 512x512, 45.2 mIoU), the baseline beside ResTv2. The
# recipe of fpn_restv2_t_512x512_40k_ade20k.py (AdamW lr 1e-4, weight decay 1e-4, poly power 0.9
# to 0 over 40k iterations, batch 16, random resize and 512x512 crop; docs/configs.md, row
# R-BEYOND-03) with PVTv2's own backbone and optimizer settings in place of the ResTv2 rule:
# mmdet's PyramidVisionTransformerV2 (B2: 64..512 channels, 3/4/6/3 blocks, stochastic depth 0.1),
# weight decay on every parameter, no lr decay, fp32 (the release's fpn_pvtv2_B2_ade20k_40k.py).
_base_ = './fpn_restv2_t_512x512_40k_ade20k.py'
# The PVT release's ImageNet checkpoint (github.com/whai362/PVT, pvt_v2_b2.pth), converted by
# mmdet on loading. Required: tools/train.py refuses to start while it is None; give it with
# --cfg-options pretrained=PATH (mmdet's PVT reads only `checkpoint` of its init_cfg).
pretrained = None
model = dict(
    backbone=dict(
        _delete_=True,
        type='mmdet.PyramidVisionTransformerV2',
        embed_dims=64,
        num_layers=[3, 4, 6, 3],
        drop_path_rate=0.1,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained, required=True)),
    neck=dict(in_channels=[64, 128, 320, 512]))
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=1e-4))
