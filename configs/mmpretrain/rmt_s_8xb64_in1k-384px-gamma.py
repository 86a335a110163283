# Fine-tuning RMT-S at 384x384 with the decay adjusted to the new resolution, gamma' =
# gamma ** (224 / 384) (supplement C, Table 3: "RMT-S'", 27M, 14.7G, 85.2 %): the recipe of
# rmt_s_8xb64_in1k-384px.py; only the backbone's decay exponent differs (the saved decay buffers
# keep log(gamma), so the 224 checkpoint loads unchanged).
_base_ = './rmt_s_8xb64_in1k-384px.py'
model = dict(backbone=dict(pretrain_img_size=224, img_size=384))
