"""Relative log amplitudes of Fourier-transformed feature maps (ResTv2 section 3.4 / Figure 3).

The definition is that of Park & Kim, "How do vision transformers work?" (ICLR 2022,
``fourier_analysis.ipynb``), which the ResTv2 authors' ``fourier_analysis.py`` repeats: the 2-D
FFT of each (H, W) map, ``log(|F| + 1e-6)``, shifted so that the zero frequency sits at
(H // 2, W // 2), averaged over images and channels; then the half-diagonal from the centre to the
corner, minus its value at the centre. Point k of that curve is the frequency (2k/H, 2k/W) in
units of pi; the sources draw the curve's points evenly from 0 to 1.0 pi.
"""
from typing import Dict, List

import torch

# Added to |F| before the log, as in both sources (a map with an exact zero stays finite).
EPS = 1e-6


def shifted_log_amplitude(maps: torch.Tensor) -> torch.Tensor:
    """``fftshift(log(|FFT2(maps)| + 1e-6))`` over the last two dimensions, in float64.

    Shape:
        (..., H, W) -> (..., H, W), the zero frequency at (H // 2, W // 2) (the sources'
        ``torch.roll`` by (H/2, W/2) is ``fftshift``).
    """
    amplitude = torch.fft.fft2(maps.double()).abs()
    return torch.fft.fftshift((amplitude + EPS).log(), dim=(-2, -1))


def half_diagonal(spectrum: torch.Tensor) -> torch.Tensor:
    """The entries (i, i) of a shifted square (H, H) spectrum for i = H // 2 .. H - 1: from the
    zero frequency to the highest one on the diagonal, ``H - H // 2`` points.

    Raises:
        ValueError: ``spectrum`` is not a square 2-D map.
    """
    if spectrum.dim() != 2 or spectrum.shape[0] != spectrum.shape[1]:
        raise ValueError(f'the half-diagonal needs a square (H, H) spectrum, got {tuple(spectrum.shape)}')
    return spectrum.diagonal()[spectrum.shape[0] // 2:]


class FourierSpectrum:
    """Accumulates the mean shifted log amplitude of square feature maps over any number of
    batches, the images and the channels (the sources' ``.mean(dim=(0, 1))`` over the
    concatenated batches, without keeping them).

    Example::

        spectrum = FourierSpectrum()
        for maps in batches:             # (N, C, H, H) each
            spectrum.update(maps)
        curve = spectrum.relative()      # (H - H // 2,) relative log amplitudes
    """

    def __init__(self):
        self.total = None
        self.count = 0

    def update(self, maps: torch.Tensor) -> None:
        """Add a batch of maps.

        Shape:
            maps: (N, C, H, W) with H == W, the same size at every update.

        Raises:
            ValueError: not a 4-D batch of square maps, or another size than before.
        """
        if maps.dim() != 4 or maps.shape[-1] != maps.shape[-2]:
            raise ValueError('Fourier analysis takes (N, C, H, W) maps with H == W (the half-'
                             f'diagonal of a square spectrum), got {tuple(maps.shape)}')
        if self.total is not None and self.total.shape != maps.shape[-2:]:
            raise ValueError(f'every batch must give maps of one size: got {tuple(maps.shape[-2:])} '
                             f'after {tuple(self.total.shape)} (crop the images to one size)')
        total = shifted_log_amplitude(maps).sum(dim=(0, 1))
        self.total = total if self.total is None else self.total + total
        self.count += maps.shape[0] * maps.shape[1]

    def mean(self) -> torch.Tensor:
        """The (H, W) mean shifted log amplitude so far, float64.

        Raises:
            RuntimeError: nothing was added yet.
        """
        if not self.count:
            raise RuntimeError('FourierSpectrum: no maps were added (call update first)')
        return self.total / self.count

    def relative(self) -> torch.Tensor:
        """The half-diagonal of :meth:`mean` minus its zero-frequency value (the sources'
        ``latent - latent[0]``): 0 at the first point, usually negative beyond.

        Shape:
            (H - H // 2,), float64.
        """
        curve = half_diagonal(self.mean())
        return curve - curve[0]


def relative_log_amplitude(maps: torch.Tensor) -> torch.Tensor:
    """The relative log amplitude curve of one batch of maps (:class:`FourierSpectrum` of it).

    Shape:
        (N, C, H, H) -> (H - H // 2,), float64.
    """
    spectrum = FourierSpectrum()
    spectrum.update(maps)
    return spectrum.relative()


def spectrum_summary(curve: torch.Tensor) -> Dict[str, object]:
    """What a record keeps of one curve: ``relative_log_amplitude`` (list of floats) and
    ``delta_log_amplitude``, the log amplitude at 0 minus that at the highest frequency (the
    ResTv2 Figure 3 caption's difference, 0.0 pi minus 1.0 pi; Park & Kim's Figure 8 draws its
    negative, the curve's last point)."""
    values: List[float] = [float(v) for v in curve]
    return dict(relative_log_amplitude=values, delta_log_amplitude=values[0] - values[-1])
