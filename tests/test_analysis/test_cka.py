"""Linear CKA (restv2_mm.analysis.cka) against its defining properties (Kornblith et al. 2019,
section 3), known answers, and the authors' reference code (recorded once in
tests/data/cka_reference.json)."""
import json

import numpy as np
import pytest
import torch

from helpers import REPO
from restv2_mm.analysis import LinearCKA, linear_cka

REFERENCE = f'{REPO}/tests/data/cka_reference.json'


def features(n=60, p=7, seed=0):
    return torch.from_numpy(np.random.RandomState(seed).randn(n, p))


def random_orthogonal(p, seed):
    q, _ = torch.linalg.qr(torch.from_numpy(np.random.RandomState(seed).randn(p, p)))
    return q


def test_cka_of_a_representation_with_itself_is_one():
    x = features()
    assert linear_cka(x, x) == pytest.approx(1, abs=1e-12)


def test_invariant_to_orthogonal_transforms_and_isotropic_scaling():
    x, y = features(seed=0), features(p=5, seed=1) + features(p=5, seed=2)[:, :5]
    base = linear_cka(x, y)
    assert linear_cka(x @ random_orthogonal(7, 3) * 4.5, y) == pytest.approx(base, abs=1e-12)
    assert linear_cka(x, 0.01 * y @ random_orthogonal(5, 4)) == pytest.approx(base, abs=1e-12)
    assert linear_cka(x + 3.0, y - 1.0) == pytest.approx(base, abs=1e-12)  # centred: shifts vanish


def test_not_invariant_to_an_arbitrary_linear_map():
    x = features(p=4, seed=0)
    y = x[:, :2] + 0.3 * features(p=2, seed=1)
    # Stretching by 50 a feature of x that y does not share is invertible (CCA would not change),
    # but that feature then dominates x's similarity structure and CKA falls.
    stretch = torch.diag(torch.tensor([1., 1., 1., 50.], dtype=torch.float64))
    assert linear_cka(x, y) > 0.5
    assert linear_cka(x @ stretch, y) < 0.5 * linear_cka(x, y)


def test_one_feature_each_gives_the_squared_correlation():
    x, noise = features(n=200, p=1, seed=5), features(n=200, p=1, seed=6)
    y = 2 * x - 0.7 * noise
    r = np.corrcoef(x[:, 0].numpy(), y[:, 0].numpy())[0, 1]
    assert linear_cka(x, y) == pytest.approx(r ** 2, abs=1e-12)


def test_orthogonal_centred_features_give_zero():
    # Orthonormal columns that are also orthogonal to the ones vector (so already centred): X^T Y = 0.
    ones = torch.ones(40, 1, dtype=torch.float64)
    basis, _ = torch.linalg.qr(torch.cat([ones, features(n=40, p=6, seed=8)], 1))
    assert linear_cka(basis[:, 1:4], basis[:, 4:7]) == pytest.approx(0, abs=1e-12)


def test_equals_kornbliths_reference_code():
    ref = json.load(open(REFERENCE))
    np.random.seed(1337)  # the notebook's tutorial data, and its printed value
    x = np.random.randn(100, 10)
    y = np.random.randn(100, 10) + x
    value = linear_cka(torch.from_numpy(x), torch.from_numpy(y))
    assert value == pytest.approx(ref['notebook_example']['linear_cka'], abs=1e-12)
    assert round(value, 5) == ref['notebook_example']['printed_by_the_notebook']
    r = np.random.RandomState(37)
    x = r.randn(50, 8)
    y = x @ r.randn(8, 6) + r.randn(50, 6)
    value = linear_cka(torch.from_numpy(x), torch.from_numpy(y))
    assert value == pytest.approx(ref['random']['linear_cka'], abs=1e-12)


def test_minibatches_give_the_whole_set_value():
    x, y, z = features(n=97, seed=0) + 5, features(n=97, p=3, seed=1), features(n=97, p=9, seed=2)
    y = y + x[:, :3]
    cka = LinearCKA(('x', 'y', 'z'))
    for start in range(0, 97, 10):  # batches of 10 and a last one of 7
        cka.update(dict(x=x[start:start + 10], y=y[start:start + 10].float(), z=z[start:start + 10]))
    assert cka.count == 97
    assert cka.pairs() == [('x', 'y'), ('x', 'z'), ('y', 'z')]
    assert cka.value('x', 'y') == pytest.approx(linear_cka(x, y.float().double()), abs=1e-12)
    assert cka.value('z', 'y') == pytest.approx(linear_cka(z, y.float().double()), abs=1e-12)


def test_bad_input_is_refused():
    cka = LinearCKA(('a', 'b'))
    with pytest.raises(ValueError, match='at least 2 examples'):
        cka.value('a', 'b')
    with pytest.raises(ValueError, match='exactly the representations'):
        cka.update(dict(a=features()))
    with pytest.raises(ValueError, match='same n'):
        cka.update(dict(a=features(n=5), b=features(n=6)))
    with pytest.raises(KeyError, match="unknown representation 'c'"):
        cka.value('a', 'c')
    with pytest.raises(ValueError, match="'y' is constant"):
        linear_cka(features(n=5), torch.ones(5, 3))
    with pytest.raises(ValueError, match='distinct'):
        LinearCKA(('a', 'a'))
