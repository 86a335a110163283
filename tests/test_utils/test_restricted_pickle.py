"""Safe loading on every supported torch: the restricted unpickler (torch < 2.4, tested here on any
torch by calling it directly) admits exactly what torch's weights_only loader with our safe
globals admits, refuses a checkpoint that calls os.system, and reads runner checkpoints; mmengine's
local loader goes through it where torch's default is not weights_only."""
import argparse
import os
import pickle
from collections import OrderedDict

import numpy as np
import pytest
import torch
from mmengine.logging import MessageHub

import restv2_mm  # noqa: F401
from restv2_mm.utils import UnsafeCheckpointError, read_checkpoint, restricted_pickle, serialization


class _RunsACommand:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}', )


def runner_like_checkpoint(path):
    """What an mmengine runner checkpoint holds: weights, optimizer state, the message hub's
    HistoryBuffers, the NumPy RNG state, numpy scalars, official-release args."""
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3))
    optim = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model(torch.randn(2, 4)).sum().backward()
    optim.step()
    hub = MessageHub.get_instance('restricted_pickle_test')
    hub.update_scalar('train/loss', 1.5)
    hub.update_scalar('train/loss', 0.5)
    hub.update_info('rng', np.random.get_state())
    hub.update_info('iter', np.int64(7))
    state = {'meta': {'epoch': 1, 'seed': np.int64(3), 'ratio': np.float32(0.5),
                      'tags': {'a', 'b'}, 'z': complex(1, 2), 'raw': b'\x00\xff'},
             'state_dict': OrderedDict(model.state_dict()),
             'optimizer': optim.state_dict(),
             'message_hub': hub.state_dict(),
             'param': torch.nn.Parameter(torch.ones(2)),
             'args': argparse.Namespace(model='restv2_tiny', lr=1e-3)}
    torch.save(state, path)
    return state


def same(a, b):
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, np.ndarray):
        return np.array_equal(a, b)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, argparse.Namespace):
        return vars(a) == vars(b)
    if type(a).__name__ == 'HistoryBuffer':
        return same(a.data, b.data) and a.max_length == b.max_length
    return a == b


def load_restricted(path):
    return torch.load(path, map_location='cpu', weights_only=False, pickle_module=restricted_pickle)


def test_restricted_unpickler_reads_runner_checkpoints(tmp_path):
    path = str(tmp_path / 'runner.pth')
    saved = runner_like_checkpoint(path)
    got = load_restricted(path)
    assert same(saved, got)
    # and agrees with torch's own weights_only loader where that takes our globals
    if hasattr(torch.serialization, 'add_safe_globals'):
        assert same(got, torch.load(path, map_location='cpu', weights_only=True))
    hist = got['message_hub']['log_scalars']['train/loss']
    assert hist.mean() == 1.0 and hist.current() == 0.5


def test_restricted_unpickler_refuses_code(tmp_path):
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {'w': torch.ones(2)}, 'meta': _RunsACommand(marker)}, path)
    with pytest.raises(pickle.UnpicklingError, match='GLOBAL posix.system'):
        load_restricted(str(path))
    assert not marker.exists()
    for module, name in [('builtins', 'eval'), ('builtins', 'exec'), ('os', 'system'),
                         ('subprocess', 'Popen'), ('builtins', '__import__'),
                         ('torch', 'load'), ('numpy', 'load'), ('_codecs', 'decode')]:
        with pytest.raises(pickle.UnpicklingError, match='Unsupported global'):
            restricted_pickle.Unpickler(open(path, 'rb')).find_class(module, name)


def test_restricted_getattr_and_codecs_reach_nothing_else():
    allowed = restricted_pickle.allowed_globals()
    getattr_ = allowed['builtins.getattr']
    with pytest.raises(pickle.UnpicklingError, match='getattr'):
        getattr_(os, 'system')
    encode = allowed['_codecs.encode']
    assert encode('\x00\xff', 'latin1') == b'\x00\xff'
    with pytest.raises(pickle.UnpicklingError, match='zlib'):
        encode('x', 'zlib_codec')


def test_old_torch_path_of_read_checkpoint(tmp_path, monkeypatch):
    """read_checkpoint without add_safe_globals (torch < 2.4) takes the restricted unpickler."""
    monkeypatch.setattr(serialization, 'has_safe_globals', lambda: False)
    calls = []
    real = torch.load
    monkeypatch.setattr(torch, 'load', lambda *a, **k: calls.append(k) or real(*a, **k))
    path = str(tmp_path / 'runner.pth')
    saved = runner_like_checkpoint(path)
    assert same(saved, read_checkpoint(path))
    assert calls[-1]['pickle_module'] is restricted_pickle
    marker = tmp_path / 'pwned'
    torch.save({'meta': _RunsACommand(marker)}, tmp_path / 'evil.pth')
    with pytest.raises(UnsafeCheckpointError, match="global 'posix.system'.*--unsafe-load"):
        read_checkpoint(str(tmp_path / 'evil.pth'))
    assert not marker.exists()


def test_mmengine_local_loader(tmp_path, monkeypatch):
    """mmengine's load_checkpoint / runner.resume read files through our loader where it is
    registered (automatically on torch < 2.6; forced here)."""
    from mmengine.runner import load_checkpoint
    from mmengine.runner.checkpoint import CheckpointLoader

    from restv2_mm.registry import register_safe_local_loader
    monkeypatch.setattr(CheckpointLoader, '_schemes', dict(CheckpointLoader._schemes))
    assert register_safe_local_loader(force=True)
    assert CheckpointLoader._get_checkpoint_loader('x.pth') is serialization.load_local_checkpoint
    marker = tmp_path / 'pwned'
    torch.save({'state_dict': {'weight': torch.ones(1, 1), 'bias': torch.ones(1)},
                'meta': _RunsACommand(marker)}, tmp_path / 'evil.pth')
    with pytest.raises(UnsafeCheckpointError, match='posix.system'):
        load_checkpoint(torch.nn.Linear(1, 1), str(tmp_path / 'evil.pth'))
    assert not marker.exists()
    torch.save({'state_dict': {'weight': torch.full((1, 1), 2.), 'bias': torch.ones(1)},
                'message_hub': runner_like_checkpoint(str(tmp_path / 'r.pth'))['message_hub']},
               tmp_path / 'good.pth')
    model = torch.nn.Linear(1, 1)
    load_checkpoint(model, str(tmp_path / 'good.pth'))
    assert model.weight.item() == 2.
    with pytest.raises(FileNotFoundError):
        load_checkpoint(model, str(tmp_path / 'missing.pth'))
