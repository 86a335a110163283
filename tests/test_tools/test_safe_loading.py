"""Runner checkpoints load with torch's safe weights_only loader everywhere: the stock
tools/test.py and tools/train.py --resume of mmdet, mmseg and mmpretrain (the copies shipped in the
installed packages), the three inferencers and get_model, all without
TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD; and a checkpoint whose pickle calls os.system is refused."""
import importlib.util
import os
import os.path as osp
import pickle
import shutil
import textwrap

import pytest
import torch

from helpers import REPO, run_tool
from restv2_mm.utils import SAFE_GLOBALS, UnsafeCheckpointError, read_checkpoint

LIBS = ('mmdet', 'mmpretrain', 'mmseg')
TEST_OPTIONS = ['test_dataloader.dataset.indices=2', 'test_dataloader.num_workers=0']
# A one-step detector scores every box below the default threshold: keep them, so that COCO
# metrics are computed (an empty result prints none).
KEEP_ALL = {'mmdet': ['model.test_cfg.rcnn.score_thr=0.0']}


def stock_tool(lib, name):
    """The tool as shipped inside the installed package (what `mim` runs)."""
    path = osp.join(osp.dirname(importlib.util.find_spec(lib).origin), '.mim', 'tools', name)
    assert osp.isfile(path), path
    return path


def run(args, data_root, cwd=REPO, check=True):
    """A tool's run; the safe loader must do without TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD."""
    return run_tool(args, data_root=data_root, cwd=cwd, check=check,
                    TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=None)


@pytest.mark.slow
def test_checkpoints_hold_only_allowed_globals(demo_runs):
    """What the runner pickles is exactly what the safe list allows (nothing missing, and EMA,
    RNG state, message hub included)."""
    allowed = {f'{g[1]}' if isinstance(g, tuple) else f'{g.__module__}.{g.__qualname__}'
               for g, _ in SAFE_GLOBALS}
    registered = torch.serialization.get_safe_globals()
    torch.serialization.clear_safe_globals()  # else what restv2_mm allowed counts as safe
    try:
        needed = {lib: set(torch.serialization.get_unsafe_globals_in_checkpoint(demo.checkpoint))
                  for lib, demo in demo_runs.items()}
    finally:
        torch.serialization.add_safe_globals(registered)
    for lib, demo in demo_runs.items():
        assert needed[lib] and needed[lib] <= allowed, (lib, needed[lib] - allowed)
        state = torch.load(demo.checkpoint, map_location='cpu', weights_only=True)
        assert 'rng_state' in state['message_hub']['runtime_info']
    assert 'ema_state_dict' in read_checkpoint(demo_runs['mmpretrain'].checkpoint)


@pytest.mark.slow
@pytest.mark.parametrize('lib', LIBS)
def test_stock_test(lib, demo_runs, data_root, tmp_path):
    config, ckpt = demo_runs[lib].config, demo_runs[lib].checkpoint
    log = run([stock_tool(lib, 'test.py'), config, ckpt, '--work-dir', tmp_path,
               '--cfg-options', *TEST_OPTIONS, *KEEP_ALL.get(lib, [])], data_root,
              cwd=str(tmp_path)).output
    assert {'mmdet': 'bbox_mAP', 'mmseg': 'mIoU', 'mmpretrain': 'accuracy/top1'}[lib] in log


@pytest.mark.slow
def test_stock_resume(demo_runs, data_root, tmp_path):
    """mmpretrain's stock train.py --resume goes on from our classifier run (optimizer, EMA, RNG
    state and message hub restored). The detector's and segmentor's files are unpickled whole, by
    the same safe loader, in test_stock_test; resuming differs only after loading."""
    run_ = demo_runs['mmpretrain']
    work = str(tmp_path / 'work')  # the run goes on in a copy of its work dir
    shutil.copytree(run_.work_dir, work)
    log = run([stock_tool('mmpretrain', 'train.py'), run_.config, '--work-dir', work, '--resume',
               '--cfg-options', *run_.options, 'train_cfg.max_epochs=2'], data_root,
              cwd=str(tmp_path)).output
    assert 'resumed epoch' in log.lower() or 'Load checkpoint from' in log
    assert osp.isfile(osp.join(work, 'epoch_2.pth'))


INFER = {
    'mmdet': '''
        from mmdet.apis import DetInferencer
        out = DetInferencer(model=CFG, weights=CKPT, device='cpu')(IMG, return_vis=False)
        print('OK', len(out['predictions']))''',
    'mmseg': '''
        from mmseg.apis import MMSegInferencer
        out = MMSegInferencer(model=CFG, weights=CKPT, device='cpu')(IMG)
        print('OK', out['predictions'].shape)''',
    'mmpretrain': '''
        from mmpretrain import ImageClassificationInferencer, get_model
        model = get_model(CFG, pretrained=CKPT)
        out = ImageClassificationInferencer(model=CFG, pretrained=CKPT, device='cpu')(IMG)
        print('OK', out[0]['pred_label'])''',
}


@pytest.mark.slow
@pytest.mark.parametrize('lib', LIBS)
def test_inferencers_and_get_model(lib, demo_runs, data_root):
    """In a fresh process that never imports restv2_mm itself: the config's custom_imports does."""
    config, ckpt = demo_runs[lib].config, demo_runs[lib].checkpoint
    image = {'mmdet': 'coco_mini/val2017/000000000139.jpg',
             'mmseg': 'ade_mini/images/validation/ADE_val_00000001.jpg',
             'mmpretrain': 'imagenet_mini/val/ILSVRC2012_val_00000001.JPEG'}[lib]
    image = osp.join(data_root, image)
    if not osp.isfile(image):  # any image of the set
        folder = osp.dirname(image)
        image = osp.join(folder, sorted(os.listdir(folder))[0])
    script = f'CFG, CKPT, IMG = {config!r}, {ckpt!r}, {image!r}\n' + \
        textwrap.dedent(INFER[lib]) + "\nimport sys; assert 'restv2_mm' in sys.modules\n"
    log = run(['-c', script], data_root).output
    assert 'OK' in log


class _RunsACommand:
    """A pickle that calls os.system when loaded: what a malicious checkpoint does."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}', )


def malicious_checkpoint(tmp_path):
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {'backbone.stem.norm.weight': torch.ones(96)},
                'meta': _RunsACommand(marker)}, path)
    return path, marker


def test_malicious_checkpoint_is_refused(tmp_path):  # B32
    path, marker = malicious_checkpoint(tmp_path)
    with pytest.raises(UnsafeCheckpointError) as info:
        read_checkpoint(str(path))
    msg = str(info.value)
    assert 'system' in msg and '--unsafe-load' in msg and 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD' in msg
    assert not marker.exists()
    with pytest.raises(pickle.UnpicklingError):  # the stock path: mmengine's plain torch.load
        from mmengine.runner import load_checkpoint
        load_checkpoint(torch.nn.Linear(1, 1), str(path))
    assert not marker.exists()


@pytest.mark.slow
def test_malicious_checkpoint_refused_by_stock_and_our_tools(tmp_path, data_root):  # B32
    path, marker = malicious_checkpoint(tmp_path)
    config = osp.join(REPO, 'configs/mmseg/demo/upernet_restv2_t_ade_mini.py')
    for tool in (stock_tool('mmseg', 'test.py'), osp.join(REPO, 'tools/test.py')):
        proc = run([tool, config, str(path), '--work-dir', str(tmp_path / 'w'), '--cfg-options',
                    *TEST_OPTIONS], data_root, cwd=str(tmp_path), check=False)
        assert proc.returncode != 0 and 'system' in proc.stderr, proc.stderr[-3000:]
        assert not marker.exists()
