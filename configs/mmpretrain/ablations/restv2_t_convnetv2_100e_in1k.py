# Table 2c ConvNetv2: the ConvNet with blocks {2, 3, 6, 2}. Paper: 26.67M, 4.09G, 77.91 top-1.
_base_ = './restv2_t_100e_in1k.py'

model = dict(
    backbone=dict(
        branches='conv',
        arch=dict(
            _delete_=True,  # a dict in place of the base's 'tiny'
            embed_dims=[96, 192, 384, 768],
            depths=[2, 3, 6, 2],
            num_heads=[1, 2, 4, 8],
            sr_ratios=[8, 4, 2, 1])))
