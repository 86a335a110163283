"""Linear CKA (Kornblith et al., "Similarity of Neural Network Representations Revisited", ICML
2019), accumulated exactly over minibatches (ResTv2 section 4 / Figure 4).

The estimator is the plain (biased-HSIC) linear CKA of the authors' reference code,
``feature_space_linear_cka(X, Y, debiased=False)`` of google-research's
``representation_similarity/Demo.ipynb``: with X (n, p) and Y (n, q) centred over the n examples,

    CKA(X, Y) = ||Y^T X||_F^2 / (||X^T X||_F ||Y^T Y||_F).

Only the (p, q) cross-products of the centred features enter, so examples can come in any
number of batches: each batch's centred co-moments are merged with the running ones (Chan et
al.'s pairwise update, in float64), which gives the same value as the whole set at once.
"""
from itertools import combinations
from typing import Dict, Mapping, Sequence, Tuple

import torch


def linear_cka(x: torch.Tensor, y: torch.Tensor) -> float:
    """Plain linear CKA of two representations of the same examples, in float64.

    Shape:
        x (n, p), y (n, q): row i of each is example i.

    Raises:
        ValueError: not 2-D, different numbers of examples, fewer than 2 examples, or a constant
            representation (CKA undefined).
    """
    cka = LinearCKA(('x', 'y'))
    cka.update(dict(x=x, y=y))
    return cka.value('x', 'y')


class LinearCKA:
    """Linear CKA between every pair of named representations, accumulated over minibatches.

    For each representation a the running mean and, for each pair (a, b) including a == b, the
    centred co-moment ``sum_i (a_i - mean_a)(b_i - mean_b)^T`` are kept, (p_a, p_b) each, in
    float64; :meth:`value` needs nothing else.

    Args:
        names: The representations, e.g. ``('attn', 'up', 'com')``.

    Example::

        cka = LinearCKA(('attn', 'up'))
        for attn, up in batches:          # (n_b, C) each: one row per example
            cka.update(dict(attn=attn, up=up))
        cka.value('attn', 'up')
    """

    def __init__(self, names: Sequence[str]):
        if len(set(names)) != len(names) or not names:
            raise ValueError(f'names must be distinct and not empty, got {list(names)}')
        self.names = tuple(names)
        self.count = 0
        self.means: Dict[str, torch.Tensor] = {}
        self.comoments: Dict[Tuple[str, str], torch.Tensor] = {}

    def pairs(self):
        """(a, b) for every pair of names, in order, without (a, a)."""
        return list(combinations(self.names, 2))

    def update(self, features: Mapping[str, torch.Tensor]) -> None:
        """Add one minibatch: the same n examples in every representation.

        Shape:
            features[name]: (n, p_name), p_name fixed across updates.

        Raises:
            ValueError: a name missing or unknown, a tensor that is not 2-D, or differing n.
        """
        if set(features) != set(self.names):
            raise ValueError(f'update needs exactly the representations {list(self.names)}, '
                             f'got {sorted(features)}')
        batch = {k: v.detach().double() for k, v in features.items()}
        sizes = {k: tuple(v.shape) for k, v in batch.items()}
        if any(len(s) != 2 for s in sizes.values()) or len({s[0] for s in sizes.values()}) != 1:
            raise ValueError(f'every representation must be (n, features) with the same n, got {sizes}')
        n = next(iter(sizes.values()))[0]
        if n == 0:
            return
        means = {k: v.mean(0) for k, v in batch.items()}
        centred = {k: v - means[k] for k, v in batch.items()}
        total = self.count + n
        for a, b in self._all_pairs():
            comoment = centred[a].T @ centred[b]
            if self.count:
                delta_a = means[a] - self.means[a]
                delta_b = means[b] - self.means[b]
                comoment += self.comoments[a, b] + torch.outer(delta_a, delta_b) * (self.count * n / total)
            self.comoments[a, b] = comoment
        for k in self.names:
            self.means[k] = means[k] if not self.count else \
                self.means[k] + (means[k] - self.means[k]) * (n / total)
        self.count = total

    def _all_pairs(self):
        return [(a, a) for a in self.names] + self.pairs()

    def value(self, a: str, b: str) -> float:
        """CKA between representations ``a`` and ``b`` over every example added so far.

        Raises:
            KeyError: an unknown name.
            ValueError: fewer than 2 examples, or ``a`` or ``b`` constant over them.
        """
        for k in (a, b):
            if k not in self.names:
                raise KeyError(f'unknown representation {k!r}; known: {list(self.names)}')
        if self.count < 2:
            raise ValueError(f'linear CKA needs at least 2 examples, got {self.count}')
        cross = self.comoments[(a, b) if (a, b) in self.comoments else (b, a)]
        norm_a = torch.linalg.matrix_norm(self.comoments[a, a])
        norm_b = torch.linalg.matrix_norm(self.comoments[b, b])
        if norm_a == 0 or norm_b == 0:
            raise ValueError(f'linear CKA is undefined: {a if norm_a == 0 else b!r} is constant '
                             f'over the {self.count} examples')
        return float(torch.linalg.matrix_norm(cross) ** 2 / (norm_a * norm_b))
