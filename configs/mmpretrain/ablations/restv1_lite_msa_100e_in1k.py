# Appendix A ResTv1-MSA-Lite*: ResTv1-Lite (as restv1_lite_emsa_100e_in1k.py) with standard MSA, no
# spatial reduction. Paper: 10.48M, 4.37G, 625 img/s (V100), 75.06 top-1.
_base_ = './restv2_t_100e_in1k.py'

model = dict(
    backbone=dict(
        arch=dict(
            _delete_=True,  # a dict in place of the base's 'tiny'
            embed_dims=[64, 128, 256, 512],
            depths=[2, 2, 2, 2],
            num_heads=[1, 2, 4, 8],
            sr_ratios=[1, 1, 1, 1]),
        up_target='none',
        mhim=True),
    head=dict(in_channels=512))
