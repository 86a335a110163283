# ResTv2-T on the paper's ablation recipe (section 4.3): the 300-epoch settings of
# ../restv2_t_8xb256_in1k.py trained for 100 epochs, 10 of them linear warm-up. The default row of
# every ablation: Table 2a V, 2b pixel-shuffle, 2c EMSAv2, 2d PA, appendix B ResTv2-T.
# The other configs of this folder inherit it and change one switch (docs/ablations.md).
_base_ = '../restv2_t_8xb256_in1k.py'

max_epochs = 100
warmup_epochs = 10
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, end=warmup_epochs,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=True, begin=warmup_epochs,
         end=max_epochs),
]
train_cfg = dict(max_epochs=max_epochs)
