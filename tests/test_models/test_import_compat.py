"""The package imports and builds its backbones where newer-torch APIs or mmcv's compiled ops are
missing; what needs them raises a clear error when it is asked for. Each case runs in a fresh
process with the missing pieces removed, on the installed torch (the real oldest stack is
`make test-compat`)."""
import textwrap

import pytest

from helpers import run_tool

# Fresh interpreters (~6 s each): slow for `make test-fast`; `make test-compat` runs them (compat).
pytestmark = [pytest.mark.slow, pytest.mark.compat]

OLD_TORCH = '''
import torch, torch.utils.checkpoint as cp, torch.serialization as ser
# What restv2_mm imports of torch, torchvision and the mm libraries is imported first: this torch's
# own modules use these APIs at import. Then they go, and restv2_mm is imported without them.
import torch._dynamo, torchvision.models, mmengine.runner, mmcv.cnn, mmpretrain.models  # noqa
# (torch.compiler.is_compiling stays: this torch's dynamo calls it; torch 2.1.2 in
# `make test-compat` checks the fallback.)
for module, name in [(cp, 'CheckpointPolicy'), (cp, 'create_selective_checkpoint_contexts'),
                     (ser, 'add_safe_globals')]:
    if hasattr(module, name):
        delattr(module, name)
'''
NO_MMCV_OPS = '''
import sys
sys.modules['mmcv._ext'] = None  # what mmcv-lite lacks: every mmcv.ops import fails
'''


def run(prelude, body):
    code = textwrap.dedent(prelude) + textwrap.dedent(body)
    return run_tool(['-c', code], timeout=300).stdout


def test_import_and_models_without_newer_torch_apis(tmp_path):
    out = run(OLD_TORCH, f'''
        import restv2_mm, torch
        from restv2_mm.models import ResTv2, ResTv1, RMT
        from restv2_mm.utils import read_checkpoint
        for cls, arch in [(ResTv2, 'tiny'), (ResTv1, 'lite'), (RMT, 't')]:
            m = cls(arch=arch, with_cp='full')
            m(torch.randn(1, 3, 128, 128, requires_grad=True))[-1].sum().backward()
        try:
            ResTv2(with_cp='selective')
        except RuntimeError as e:
            print('RAISED', e)
        torch.save({{'state_dict': ResTv1(arch='lite').state_dict()}}, {str(tmp_path / 'c.pth')!r})
        print('KEYS', len(read_checkpoint({str(tmp_path / 'c.pth')!r})['state_dict']))
    ''')
    assert "RAISED with_cp='selective' needs torch >= 2.4" in out
    assert "Use with_cp='full'" in out
    assert 'KEYS' in out


def test_classification_only_environment():
    """mmcv without compiled ops (mmcv-lite): mmdet's models do not import, yet restv2_mm imports,
    every backbone builds in every registry, and PVTEMSAv2 says what it needs when built."""
    out = run(NO_MMCV_OPS, '''
        import sys, torch
        import restv2_mm
        from mmpretrain.registry import MODELS
        assert 'restv2_mm.models.rest.pvt_emsav2' not in sys.modules
        for arch, kind in [('tiny', 'ResTv2'), ('lite', 'ResTv1'), ('t', 'RMT')]:
            model = MODELS.build(dict(type=kind, arch=arch)).eval()
            print(kind, model(torch.randn(1, 3, 64, 64))[-1].shape[1])
        try:
            MODELS.build(dict(type='PVTEMSAv2'))
        except ImportError as e:
            print('RAISED', e)
        print(sorted(restv2_mm.REGISTERED_IN))
    ''')
    assert 'ResTv2 768' in out and 'ResTv1 512' in out and 'RMT 512' in out
    assert "RAISED PVTEMSAv2 extends mmdet's PyramidVisionTransformer" in out and 'mmcv-lite' in out
    assert "['mmdet', 'mmpretrain', 'mmseg']" in out


@pytest.mark.mmcv_ops
def test_pvt_module_imported_only_when_used():
    """PVTEMSAv2's module (and with it mmdet's PVT) is imported when a config builds one, not by
    `import restv2_mm` (mmpretrain itself may import mmdet.models where it can)."""
    out = run('', '''
        import sys
        import restv2_mm
        print('BEFORE', 'restv2_mm.models.rest.pvt_emsav2' in sys.modules)
        from mmdet.registry import MODELS
        model = MODELS.build(dict(type='PVTEMSAv2', num_layers=[1, 1, 1, 1]))
        print('AFTER', 'restv2_mm.models.rest.pvt_emsav2' in sys.modules, type(model).__name__)
    ''')
    assert 'BEFORE False' in out and 'AFTER True PVTEMSAv2' in out


def test_onnx_export_tool_says_what_it_needs(repo_root, tmp_path):
    """Where torch has no dynamo exporter (torch.onnx.export without dynamo=True), the export tool
    stops before building anything and names what it needs."""
    code = textwrap.dedent(f'''
        import runpy, sys, torch
        def export(model, args, f=None):  # the signature of an old torch.onnx.export
            raise AssertionError('not reached')
        torch.onnx.export = export
        sys.argv = ['pytorch2onnx.py', 'configs/mmpretrain/restv2_t_8xb256_in1k.py', '--out',
                    {str(tmp_path / 'm.onnx')!r}]
        runpy.run_path('tools/deployment/pytorch2onnx.py', run_name='__main__')
    ''')
    proc = run_tool(['-c', code], timeout=300, check=False)
    assert proc.returncode != 0
    assert 'torch.onnx.export(dynamo=True)' in proc.stderr and 'tested on torch 2.14' in proc.stderr, \
        proc.stderr[-3000:]
    assert not (tmp_path / 'm.onnx').exists()
