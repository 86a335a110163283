"""Relative log amplitudes of Fourier-transformed feature maps (restv2_mm.analysis.fourier)
against known spectra, a direct DFT, and the sources' own code: Park & Kim's
``fourier_analysis.ipynb`` (how-do-vits-work) and the ResTv2 authors' ``fourier_analysis.py``
(github.com/wofmanaf/ResT), recorded once in tests/data/fourier_reference.json and, where
``RESTV2_OFFICIAL_REST`` / ``RESTV2_OFFICIAL_VITS`` name checkouts, run here.
"""
import ast
import json
import math
import os
import os.path as osp
from unittest import mock

import numpy as np
import pytest
import torch

from restv2_mm.analysis import (
    FourierSpectrum,
    half_diagonal,
    relative_log_amplitude,
    shifted_log_amplitude,
    spectrum_summary,
)

# Also run as a script (rewriting the reference file), where tests/helpers.py is not importable.
REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
REFERENCE = osp.join(REPO, 'tests', 'data', 'fourier_reference.json')
REST_ENV, VITS_ENV = 'RESTV2_OFFICIAL_REST', 'RESTV2_OFFICIAL_VITS'
# Fixed inputs (numpy's legacy generator: the same numbers on every platform and version):
# an even map, an odd one, and ViT-style (B, N, C) tokens, which both sources fold into a
# sqrt(N) x sqrt(N) map.
INPUTS = {'even': (0, (2, 3, 8, 8)), 'odd': (1, (2, 3, 7, 7)), 'tokens': (2, (2, 36, 4))}
# float64 on both sides: the FFTs agree to ~1e-15; 1e-10 still catches any change of definition.
ATOL = 1e-10


def fixed_input(name):
    seed, shape = INPUTS[name]
    return torch.from_numpy(np.random.RandomState(seed).randn(*shape))


def as_maps(x):
    """Tokens (B, N, C) as the sources fold them: (B, C, sqrt(N), sqrt(N))."""
    if x.dim() == 3:
        b, n, c = x.shape
        side = math.isqrt(n)
        return x.permute(0, 2, 1).reshape(b, c, side, side)
    return x


def rest_official_curves(root, latents):
    """The curves that the ResTv2 authors' ``plot()`` draws for ``latents``, in block order: its
    functions run as written, matplotlib replaced by mocks that record ``ax.plot``."""
    path = osp.join(root, 'fourier_analysis.py')
    tree = ast.parse(open(path).read(), path)
    funcs = [n for n in tree.body
             if isinstance(n, ast.FunctionDef) and n.name in ('fourier', 'shift', 'plot')]
    ax = mock.MagicMock()
    plt = mock.MagicMock()
    plt.subplots.return_value = (mock.MagicMock(), ax)
    namespace = dict(torch=torch, math=math, np=np, plt=plt, cm=mock.MagicMock(),
                     MultipleLocator=mock.MagicMock(), FormatStrFormatter=mock.MagicMock())
    exec(compile(ast.Module(body=funcs, type_ignores=[]), path, 'exec'), namespace)
    namespace['plot'](latents, name='unused.png')
    return [call.args[1] for call in reversed(ax.plot.call_args_list)]  # it draws the last block first


def park_kim_curves(root, latents):
    """``fourier_latents`` of Park & Kim's notebook for 4-D ``latents``: its Fourier cell as
    written, up to the plotting."""
    notebook = json.load(open(osp.join(root, 'fourier_analysis.ipynb')))
    cell = next(''.join(c['source']) for c in notebook['cells']
                if c['cell_type'] == 'code' and 'def fourier(x)' in ''.join(c['source']))
    namespace = dict(np=np, torch=torch, latents=latents)
    exec(cell.split('# A. Plot Fig 2a')[0], namespace)
    return namespace['fourier_latents']


def official_root(env):
    root = os.environ.get(env)
    if not root:
        pytest.skip(f'{env} names no official checkout')
    return root


def reference():
    with open(REFERENCE) as f:
        return json.load(f)


def test_half_diagonal_matches_a_direct_dft():
    x = fixed_input('odd')[0, 0]  # 7 x 7
    h = x.shape[0]
    curve = half_diagonal(shifted_log_amplitude(x))
    i = torch.arange(h, dtype=torch.float64)
    for k, value in enumerate(curve):  # point k: frequency (k, k), sum x[m, n] e^{-2 pi i k (m + n) / h}
        phase = torch.exp(-2j * math.pi * k * (i[:, None] + i[None, :]) / h)
        assert value.item() == pytest.approx(math.log(abs((x * phase).sum().item()) + 1e-6), abs=1e-12)
    assert len(curve) == h - h // 2


def test_a_diagonal_sinusoid_peaks_at_its_frequency():
    h, k0 = 16, 3
    i = torch.arange(h, dtype=torch.float64)
    wave = torch.cos(2 * math.pi * k0 * (i[:, None] + i[None, :]) / h)  # energy at +-(k0, k0) only
    curve = relative_log_amplitude(wave.expand(2, 4, h, h))
    assert int(curve.argmax()) == k0
    # Relative to the zero frequency, where the cosine sums to 0 (up to ~1e-14 of rounding).
    assert curve[k0].item() == pytest.approx(math.log(h * h / 2 + 1e-6) - math.log(1e-6), abs=1e-6)


def test_a_constant_map_has_only_the_dc_term():
    spectrum = shifted_log_amplitude(torch.full((6, 6), 2.5, dtype=torch.float64))
    assert spectrum[3, 3].item() == pytest.approx(math.log(2.5 * 36 + 1e-6))
    others = torch.ones(6, 6, dtype=torch.bool)
    others[3, 3] = False
    assert torch.allclose(spectrum[others], torch.tensor(math.log(1e-6), dtype=torch.float64), atol=1e-6)


def test_accumulating_batches_equals_the_whole_set():
    x = fixed_input('even')
    spectrum = FourierSpectrum()
    spectrum.update(x[:1])
    spectrum.update(x[1:])
    assert torch.allclose(spectrum.relative(), relative_log_amplitude(x), atol=1e-12)
    summary = spectrum_summary(spectrum.relative())
    curve = summary['relative_log_amplitude']
    assert curve[0] == 0 and summary['delta_log_amplitude'] == -curve[-1]


def test_bad_maps_are_refused():
    spectrum = FourierSpectrum()
    with pytest.raises(RuntimeError, match='no maps'):
        spectrum.relative()
    with pytest.raises(ValueError, match='H == W'):
        spectrum.update(torch.zeros(1, 2, 4, 6))
    spectrum.update(torch.zeros(1, 2, 4, 4))
    with pytest.raises(ValueError, match='one size'):
        spectrum.update(torch.zeros(1, 2, 8, 8))


@pytest.mark.parametrize('name', list(INPUTS))
def test_equals_the_sources_recorded(name):
    expected = reference()['curves'][name]
    ours = relative_log_amplitude(as_maps(fixed_input(name)))
    assert np.allclose(ours.numpy(), expected, rtol=0, atol=ATOL)


def test_equals_the_restv2_authors_script():
    root = official_root(REST_ENV)
    latents = [fixed_input(name) for name in INPUTS]
    for name, official in zip(INPUTS, rest_official_curves(root, latents)):
        assert torch.allclose(relative_log_amplitude(as_maps(fixed_input(name))), official, atol=ATOL)


def test_equals_park_and_kims_notebook():
    root = official_root(VITS_ENV)
    names = [n for n in INPUTS if len(INPUTS[n][1]) == 4]  # the notebook folds tokens with einops
    for name, official in zip(names, park_kim_curves(root, [fixed_input(n) for n in names])):
        assert torch.allclose(relative_log_amplitude(fixed_input(name)), official, atol=ATOL)


if __name__ == '__main__':
    # RESTV2_OFFICIAL_REST=CHECKOUT [RESTV2_OFFICIAL_VITS=CHECKOUT] \
    #     python tests/test_analysis/test_fourier.py
    # (re)writes the reference curves from the ResTv2 authors' script (and checks Park & Kim's agree).
    latents = [fixed_input(name) for name in INPUTS]
    curves = rest_official_curves(os.environ[REST_ENV], latents)
    if os.environ.get(VITS_ENV):
        four_d = [x for x in latents if x.dim() == 4]
        for a, b in zip(park_kim_curves(os.environ[VITS_ENV], four_d), [c for x, c in zip(latents, curves)
                                                                       if x.dim() == 4]):
            assert torch.allclose(a, b, atol=1e-12)
    record = dict(source='github.com/wofmanaf/ResT fourier_analysis.py (fourier, shift, plot), equal to '
                         'how-do-vits-work fourier_analysis.ipynb; float64 inputs',
                  inputs={k: dict(numpy_seed=s, shape=list(shape)) for k, (s, shape) in INPUTS.items()},
                  curves={k: [float(v) for v in c] for k, c in zip(INPUTS, curves)})
    with open(REFERENCE, 'w') as f:
        json.dump(record, f, indent=1)
        f.write('\n')
    print(f'wrote {REFERENCE}')
