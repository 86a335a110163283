# Table 2c ConvNetv3: the ConvNet with blocks {2, 3, 6, 3}. Paper: 30.43M, 4.54G, 78.63 top-1 (the
# paper's complexity is inconsistent, see docs/ablations.md: this builds 32.62M, 4.40G).
_base_ = './restv2_t_convnetv2_100e_in1k.py'

model = dict(backbone=dict(arch=dict(depths=[2, 3, 6, 3])))
