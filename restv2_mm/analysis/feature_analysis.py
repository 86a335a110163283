"""The ResTv2 paper's two explanations of the Up(V) branch, on any ResTv2 or RMT backbone and any
images: per block, the relative log amplitude spectra of the attention branch, the local branch
and their sum (section 3.4 / Figure 3), and linear CKA between each pair of them (section 4 /
Figure 4). A record (JSON) keeps the numbers; the pictures and the table are drawn from it.
"""
from typing import Callable, Dict, Iterable, List, Optional

import torch
from torch import nn

from ..utils import markdown_table
from .branches import BranchRecorder
from .cka import LinearCKA
from .fourier import FourierSpectrum, spectrum_summary
from .plotting import pyplot, save_png

CKA_ESTIMATOR = ("plain (biased-HSIC) linear CKA, Kornblith et al. 2019 (feature_space_linear_cka, "
                 "debiased=False); examples: every token (image x position), features: channels; "
                 "accumulated exactly over minibatches")


def cka_pairs(local: str) -> List[tuple]:
    """The paper's pairs (Figure 4's names): (local, attn), (attn, com), (local, com)."""
    return [(local, 'attn'), ('attn', 'com'), (local, 'com')]


def analyze_branches(backbone: nn.Module, batches: Iterable[torch.Tensor], fourier: bool = True,
                     cka: bool = True, progress: Optional[Callable[[int], None]] = None) -> Dict:
    """Run ``backbone`` on every batch and measure its branches block by block.

    Args:
        backbone: A ResTv2 (global style) or RMT backbone (see :class:`BranchRecorder`); put in
            eval mode here.
        batches: Model inputs (N, 3, H, W), e.g. :func:`restv2_mm.analysis.image_batches`; all
            images must give maps of one size (a classifier's centre crop does).
        fourier: Measure the spectra (:class:`FourierSpectrum` of each branch per block).
        cka: Measure linear CKA of each pair (:class:`LinearCKA`, one token one example).
        progress: Called with the batch size after each batch (a progress bar).

    Returns:
        dict: ``family``, ``local`` (the local branch's name: ``'up'`` or ``'lepe'``),
        ``blocks`` (module names), ``map_sizes`` ([H, W] per block), ``image_count``; with
        ``fourier``: ``fourier[branch]`` a list per block of ``relative_log_amplitude`` and
        ``delta_log_amplitude`` (:func:`spectrum_summary`); with ``cka``: ``cka[pair]`` a list
        per block, pairs named as the paper (``'up_attn'``, ``'attn_com'``, ``'up_com'``), and
        ``cka_estimator``.

    Raises:
        ValueError: neither ``fourier`` nor ``cka``; no batch; the branch errors of
            :class:`BranchRecorder`; maps that are not square or change size (Fourier).
    """
    if not (fourier or cka):
        raise ValueError('nothing to measure: ask for fourier=True and/or cka=True')
    recorder = BranchRecorder(backbone)
    local = recorder.spec.local_name
    pairs = cka_pairs(local)
    spectra = [{k: FourierSpectrum() for k in recorder.names} for _ in recorder.blocks]
    similarity = [LinearCKA(recorder.names) for _ in recorder.blocks]
    count, sizes = 0, None
    backbone.eval()
    for batch in batches:
        with recorder, torch.no_grad():
            backbone(batch)
        blocks = recorder.take()
        sizes = [list(b['com'].shape[-2:]) for b in blocks]
        for block, spectrum, accumulator in zip(blocks, spectra, similarity):
            if fourier:
                for name, maps in block.items():
                    spectrum[name].update(maps)
            if cka:
                accumulator.update({k: v.permute(0, 2, 3, 1).flatten(0, 2) for k, v in block.items()})
        count += batch.shape[0]
        if progress:
            progress(batch.shape[0])
    if not count:
        raise ValueError('no images: give at least one batch')
    record = dict(family=recorder.spec.family, local=local,
                  blocks=[name for name, _ in recorder.blocks], map_sizes=sizes, image_count=count)
    if fourier:
        record['fourier'] = {k: [spectrum_summary(s[k].relative()) for s in spectra]
                             for k in recorder.names}
    if cka:
        record['cka_estimator'] = CKA_ESTIMATOR
        record['cka'] = {f'{a}_{b}': [acc.value(a, b) for acc in similarity] for a, b in pairs}
    return record


def render_branches(record: Dict) -> str:
    """The record's per-block table: map size, delta log amplitude of each branch (0 minus the
    highest frequency) and CKA of each pair, 3 decimals; a markdown table ending in a newline."""
    names = ['attn', record['local'], 'com']
    header = ['block', 'map']
    columns = []
    if 'fourier' in record:
        header += [f'dlogamp {k}' for k in names]
        columns += [[s['delta_log_amplitude'] for s in record['fourier'][k]] for k in names]
    if 'cka' in record:
        header += [f'CKA {pair}' for pair in record['cka']]
        columns += list(record['cka'].values())
    rows = [[block, 'x'.join(map(str, size))] + [f'{col[i]:.3f}' for col in columns]
            for i, (block, size) in enumerate(zip(record['blocks'], record['map_sizes']))]
    return markdown_table(header, rows)


def figure_title(record: Dict, what: str) -> str:
    """``'<family>, <checkpoint file or "random init">: <what>, <n> images'``."""
    checkpoint = record.get('checkpoint')
    source = checkpoint.replace('\\', '/').split('/')[-1] if checkpoint else 'random init'
    return f"{record['family']}, {source}: {what}, {record['image_count']} images"


def plot_spectra(record: Dict, path: str, title: str = '') -> None:
    """Figure 3 as the paper draws it: one panel per branch (attention, local, combined, the
    order of the authors' ``attn.png``, ``up.png``, ``combine.png``), one line per block coloured
    by depth (plasma, the first block darkest), relative log amplitude against frequency 0 to 1.0
    pi with the curve's points evenly spaced (as the sources draw them). Written as a PNG.

    Raises:
        KeyError: the record has no ``fourier`` part.
    """
    plt = pyplot()
    from matplotlib import cm
    from matplotlib.ticker import FormatStrFormatter
    names = ['attn', record['local'], 'com']
    labels = {'attn': 'self-attention', 'up': 'Up(V)', 'lepe': 'LCE (lepe)', 'com': 'combined (sum)'}
    fig, axes = plt.subplots(1, 3, figsize=(10, 3.2), sharey=True, layout='constrained')
    n = len(record['blocks'])
    shade = 0.9 / max(n - 1, 1)  # block b (0-based) gets plasma(0.9 b / (n - 1)): no pale yellow
    for ax, name, letter in zip(axes, names, 'abc'):
        for i in reversed(range(n)):  # the first block drawn last, on top
            curve = record['fourier'][name][i]['relative_log_amplitude']
            freq = torch.linspace(0, 1, len(curve)).tolist()
            ax.plot(freq, curve, color=cm.plasma(i * shade), lw=1.2)
        ax.set_xlim(0, 1)
        ax.set_title(f'({letter}) {labels.get(name, name)}', fontsize=10)
        ax.set_xlabel('frequency')
        ax.xaxis.set_major_formatter(FormatStrFormatter(r'%.1f$\pi$'))
    axes[0].set_ylabel(r'$\Delta$ log amplitude')
    scale = cm.ScalarMappable(cmap='plasma', norm=plt.Normalize(1, 1 + 1 / shade))
    fig.colorbar(scale, ax=list(axes), label='block', fraction=0.03, pad=0.01)
    fig.suptitle(title or figure_title(record, 'relative log amplitude'), fontsize=10)
    save_png(fig, path)


def plot_cka(record: Dict, path: str, title: str = '') -> None:
    """Figure 4 as the paper draws it: linear CKA of each pair of branches against the block
    (1 = the first), one polyline per pair. Written as a PNG.

    Raises:
        KeyError: the record has no ``cka`` part.
    """
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    blocks = list(range(1, len(record['blocks']) + 1))
    # Wide pale lines under narrow ones: where two pairs agree (one branch dominates the sum),
    # both stay visible.
    styles = [dict(color='tab:red', marker='o', lw=4, ms=7, alpha=0.5),
              dict(color='tab:purple', marker='s', lw=1.5, ms=4),
              dict(color='tab:blue', marker='D', lw=1, ms=3)]
    for (pair, values), style in zip(record['cka'].items(), styles):
        ax.plot(blocks, values, label=pair, **style)
    ax.set_xticks(blocks)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel('block')
    ax.set_ylabel('linear CKA')
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9)
    ax.set_title(title or figure_title(record, 'linear CKA'), fontsize=10)
    fig.tight_layout()
    save_png(fig, path)
