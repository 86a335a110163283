"""The RetinaNet, Cascade Mask R-CNN and Semantic FPN configs (RMT, ResTv2, and PVTv2-B2 beside them
in Semantic FPN) train one iteration and test one image on the CPU, and tools/analyze_flops.py's
path counts their FLOPs; one test per framework, on the T configs at 128x128 (the S/B/L files only
change the backbone arch, and every config is built by test_configs.py)."""
import math

import pytest
import torch

import restv2_mm  # noqa: F401

SIZE = 128


def train_and_test(cfg, model, data):
    """One optimizer step as tools/train.py runs it on the CPU (SyncBN -> BN, AMP -> fp32), then
    one test step in eval mode. Returns the losses and the predictions."""
    from mmengine.config import ConfigDict
    from mmengine.model import revert_sync_batchnorm
    from mmengine.optim import build_optim_wrapper

    from restv2_mm.cli.config import resolve_amp
    model = revert_sync_batchnorm(model)
    model.init_weights()
    wrapper_cfg = ConfigDict(cfg.optim_wrapper)
    if wrapper_cfg.type == 'AmpOptimWrapper':
        with pytest.warns(UserWarning, match='AMP needs CUDA'):
            resolve_amp(wrapper_cfg)
    wrapper = build_optim_wrapper(model, wrapper_cfg)
    first = next(p for n, p in model.named_parameters() if n.startswith('backbone.'))
    before = first.detach().clone()
    model.train()
    losses = model.train_step(data, wrapper)
    assert losses and all(math.isfinite(v.item()) for v in losses.values()), losses
    assert not torch.equal(before, first.detach()), 'the step left the backbone unchanged'
    model.eval()
    with torch.no_grad():
        return losses, model.test_step(data)


def count_flops(cfg, scope):
    """analyze_flops on the model's tensor forward at SIZE x SIZE, as tools/analyze_flops.py."""
    from restv2_mm.analysis import analyze_flops
    from restv2_mm.apis import TensorForward, build_model, fixed_input
    model = build_model(cfg)
    inputs, samples = fixed_input(scope, (SIZE, SIZE))
    with torch.no_grad():
        result = analyze_flops(TensorForward(model, scope, samples), inputs)
    # Backbone and heads both counted (module names under TensorForward's ``model.``).
    assert 0 < result['by_module']['model.backbone'] < result['total'], result['by_module']['']
    return result


def det_data(with_mask):
    from mmdet.testing import demo_mm_inputs
    return demo_mm_inputs(batch_size=1, image_shapes=[(3, SIZE, SIZE)], num_items=[3],
                          num_classes=80, with_mask=with_mask)


# Fewer proposals and sampled RoIs than the recipes (2000 / 1000 proposals, 512 RoIs per cascade
# stage) keep the CPU step short; the heads and losses are the configs' own.
SMALL_RCNN = {'model.train_cfg.rpn_proposal.nms_pre': 200,
              'model.train_cfg.rpn_proposal.max_per_img': 100,
              **{f'model.train_cfg.rcnn.{i}.sampler.num': 64 for i in range(3)},
              'model.test_cfg.rpn.nms_pre': 200, 'model.test_cfg.rpn.max_per_img': 100}


# The recipes fine-tune and refuse random weights unless told (test_pretrained.py): here they train.
RANDOM_INIT = {'model.backbone.init_cfg.required': False}


def check_detector(load_config, build_model, name, with_mask, **options):
    cfg = load_config(name, **options, **RANDOM_INIT)
    losses, (pred, ) = train_and_test(cfg, build_model(cfg), det_data(with_mask))
    assert pred.pred_instances.bboxes.shape[-1] == 4
    assert (pred.pred_instances.labels < 80).all()
    if with_mask:
        assert pred.pred_instances.masks.shape[-2:] == (SIZE, SIZE)
    count_flops(cfg, 'mmdet')
    return losses


@pytest.mark.slow
@pytest.mark.parametrize('name', ['mmdet/retinanet_rmt_t_1x.py', 'mmdet/retinanet_restv2_t_1x.py'])
def test_retinanet_trains_and_tests(load_config, build_model, name):
    losses = check_detector(load_config, build_model, name, with_mask=False)
    assert {'loss_cls', 'loss_bbox'} <= set(losses)


@pytest.mark.slow
@pytest.mark.parametrize('name', ['mmdet/cascade_mask_rcnn_rmt_t_3x.py',
                                  'mmdet/cascade_mask_rcnn_restv2_t_3x.py'])
def test_cascade_mask_rcnn_trains_and_tests(load_config, build_model, name):
    losses = check_detector(load_config, build_model, name, with_mask=True, **SMALL_RCNN)
    for stage in range(3):  # the three cascade stages, each with its GIoU box loss and mask loss
        assert {f's{stage}.loss_cls', f's{stage}.loss_bbox', f's{stage}.loss_mask'} <= set(losses)


@pytest.mark.slow
@pytest.mark.parametrize('name', ['mmseg/fpn_rmt_t_512x512_80k_ade20k.py',
                                  'mmseg/fpn_restv2_t_512x512_80k_ade20k.py',
                                  'mmseg/fpn_pvtv2_b2_512x512_40k_ade20k.py'])
def test_semantic_fpn_trains_and_tests(load_config, build_model, name):
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    # mmdet's PVT loads its init_cfg's checkpoint whatever `required` says: no init_cfg instead.
    random_init = {'model.backbone.init_cfg': None} if 'pvtv2' in name else RANDOM_INIT
    cfg = load_config(name, **{'model.data_preprocessor.size': (SIZE, SIZE)}, **random_init)
    sample = SegDataSample(metainfo=dict(img_shape=(SIZE, SIZE), ori_shape=(SIZE, SIZE),
                                         pad_shape=(SIZE, SIZE)))
    sample.gt_sem_seg = PixelData(data=torch.randint(0, 150, (1, SIZE, SIZE)))
    data = dict(inputs=[torch.randint(0, 256, (3, SIZE, SIZE), dtype=torch.uint8)],
                data_samples=[sample])
    losses, (pred, ) = train_and_test(cfg, build_model(cfg), data)
    assert 'decode.loss_ce' in losses
    assert pred.pred_sem_seg.data.shape == (1, SIZE, SIZE)
    assert int(pred.pred_sem_seg.data.max()) < 150
    count_flops(cfg, 'mmseg')


# RMT paper, Table 2 (RetinaNet 1x), Table 4 (Cascade Mask R-CNN 3x+MS) and the ADE20K table
# (Semantic FPN): parameters in millions, as printed (qhfan/RMT detect/RMT_det.png,
# segmentation/seg_res.png). Our metafiles hold the exact counts (model_zoo.py --check).
PAPER_PARAMS = {
    'mmdet': {'retinanet_rmt_t_1x': 23, 'retinanet_rmt_s_1x': 36, 'retinanet_rmt_b_1x': 63,
              'retinanet_rmt_l_1x': 104, 'cascade_mask_rcnn_rmt_s_3x': 83,
              'cascade_mask_rcnn_rmt_b_3x': 111},
    'mmseg': {'fpn_rmt_t_512x512_80k_ade20k': 17.0, 'fpn_rmt_s_512x512_80k_ade20k': 30,
              'fpn_rmt_b_512x512_80k_ade20k': 57, 'fpn_rmt_l_512x512_80k_ade20k': 98},
}


@pytest.mark.parametrize('lib', sorted(PAPER_PARAMS))
def test_parameters_as_the_rmt_paper_prints_them(repo_root, lib):
    import os.path as osp

    import yaml
    models = yaml.safe_load(open(osp.join(repo_root, 'configs', lib, 'metafile.yml')))['Models']
    params = {m['Name']: m['Metadata']['Parameters'] for m in models}
    for name, millions in PAPER_PARAMS[lib].items():
        digits = 1 if isinstance(millions, float) else 0
        assert round(params[name] / 1e6, digits) == millions, (name, params[name])
