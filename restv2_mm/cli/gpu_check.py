"""The first command on a GPU machine: does the CUDA path of restv2-mm compute what the CPU computes?

    python -m restv2_mm.cli.collect_env --gpu-check [--out gpu_check.json]

Three checks, each row passed or failed against a stated tolerance (:func:`run_gpu_check`):

- ``train``: one training step (forward, backward, SGD step) of ResTv2-T and RMT-T in fp32, and
  under autocast in bf16 and fp16, on the device, against the same step in float64 on the CPU. On
  CUDA the step runs under ``torch.cuda.set_sync_debug_mode('error')``: a host-device
  synchronisation inside it fails the row.
- ``sdpa``: the masked attention of RMT's retention (a float decay mask of shape (1, heads, L, L))
  through each SDPA backend forced alone (math, flash, memory-efficient, cuDNN) and each dtype,
  forward and backward against float64 on the CPU, on RMT's shapes: L = 49, 196 and 576 (stage 3
  of RMT-S at 384 px; L % 128 == 64 is where cuDNN's masked attention has given NaN gradients,
  pytorch issue 196678). A backend that refuses the call is reported as ``unavailable``.
- ``mmcv``: mmcv's ``roi_align`` and ``nms`` on the device against their CPU kernels.

Tolerances are relative to the largest magnitude of the float64 result: fp32 1e-2 (cuDNN's
convolutions and SDPA may use TF32, 10 mantissa bits, on Ampere and newer), fp16 3e-2 (10 bits),
bf16 1e-1 (7 bits, accumulated over the depth of a network; one op alone stays within 2e-2).
"""
import contextlib
import time
from typing import Callable, Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F

from ..models import RMT, ResTv2

DTYPES = {'fp32': torch.float32, 'bf16': torch.bfloat16, 'fp16': torch.float16}
# Largest |device - float64 CPU| / max |float64 CPU| accepted, by compute dtype (module docstring).
TOLERANCE = {'fp32': 1e-2, 'bf16': 1e-1, 'fp16': 3e-2}
# One op alone (SDPA): the error of one rounding of the output and of one GEMM's accumulation.
OP_TOLERANCE = {'fp32': 1e-3, 'bf16': 2e-2, 'fp16': 5e-3}
# (batch, heads, L, head dim) of RMT's whole-map retention: RMT-T at 224 (stages 3, 4), RMT-S at
# 384 px (stage 3: 24 x 24 = 576 tokens).
SDPA_SHAPES = ((2, 8, 49, 32), (2, 8, 196, 32), (2, 8, 576, 32))
SDPA_BACKENDS = ('MATH', 'FLASH_ATTENTION', 'EFFICIENT_ATTENTION', 'CUDNN_ATTENTION')
MODELS = {'ResTv2-T': lambda: ResTv2(arch='tiny'), 'RMT-T': lambda: RMT(arch='tiny')}


def _relative(value: torch.Tensor, reference: torch.Tensor) -> float:
    """max |value - reference| / max |reference|; inf where ``value`` is not finite."""
    value, reference = value.detach().double().cpu(), reference.detach().double().cpu()
    if not torch.isfinite(value).all():
        return float('inf')
    return float((value - reference).abs().max() / reference.abs().max().clamp_min(1e-30))


def _row(check: str, name: str, dtype: str, errors: Dict[str, float], tolerance: float) -> dict:
    worst = max(errors.values())
    return dict(check=check, name=name, dtype=dtype, **{k: float(f'{v:.3g}') for k, v in errors.items()},
                tolerance=tolerance, status='pass' if worst <= tolerance else 'FAIL')


@contextlib.contextmanager
def _sync_errors(device: str):
    """On CUDA, any host-device synchronisation inside the block raises (torch's sync debug mode)."""
    if not device.startswith('cuda'):
        yield
        return
    torch.cuda.set_sync_debug_mode('error')
    try:
        yield
    finally:
        torch.cuda.set_sync_debug_mode('default')


def _ramp_loss(outs: Sequence[torch.Tensor]) -> torch.Tensor:
    # A gradient everywhere (that of a normalised output's mean is almost none), built on the
    # device; a sum, not a mean: output gradients of order 1 do not underflow in fp16 unscaled.
    return sum((o.float() * torch.linspace(-1, 1, o.numel(), device=o.device).view_as(o)).sum()
               for o in outs)


def _train_step(model: torch.nn.Module, x: torch.Tensor, dtype: Optional[torch.dtype], device: str):
    """Forward, backward and one SGD step; returns (outputs, input grad, weight grads)."""
    x = x.detach().clone().requires_grad_(True)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    autocast = torch.autocast(torch.device(device).type, dtype=dtype) if dtype is not None else \
        contextlib.nullcontext()
    with _sync_errors(device):
        with autocast:
            outs = model(x)
        _ramp_loss(outs).backward()
        optimizer.step()
    grads = [p.grad.detach().flatten() for p in model.parameters() if p.grad is not None]
    return list(outs), x.grad, torch.cat(grads)


def check_training(device: str, dtypes: Optional[Sequence[str]] = None, size: Sequence[int] = (224, 224),
                   batch: int = 2, models: Optional[Dict[str, Callable[[], torch.nn.Module]]] = None,
                   seed: int = 0, train: bool = True) -> List[dict]:
    """One training step per model and dtype on ``device`` against float64 on the CPU.

    Args:
        device: ``'cuda'``, ``'cuda:1'``, ``'cpu'``.
        dtypes: Keys of :data:`DTYPES` ('fp32' runs without autocast); default all.
        size: Input (H, W) in pixels; batch: N.
        models: ``name -> builder``; default :data:`MODELS` (ResTv2-T, RMT-T).
        train: Modules in training mode (BatchNorm on batch statistics). ``False`` (eval mode) keeps
            the comparison well-conditioned for tiny inputs, whose training BatchNorm normalises
            over a handful of values and magnifies rounding.

    Returns:
        One row per (model, dtype): ``outputs`` (the four (N, C_i, H_i, W_i) maps), ``input_grad``
        ((N, 3, H, W)) and ``weight_grad`` (all parameters' gradients, concatenated) as relative
        errors (inf: not finite), ``tolerance``, ``status``; or ``status='error'`` with the exception
        (a synchronisation under the sync debug mode, an unsupported dtype).
    """
    rows = []
    for name, build in (models or MODELS).items():
        torch.manual_seed(seed)
        reference_model = build().double().train(train)
        state = {k: v.clone() for k, v in reference_model.state_dict().items()}
        x = torch.randn(batch, 3, *size, dtype=torch.float64)
        ref_outs, ref_grad, ref_weight_grad = _train_step(reference_model, x, None, 'cpu')
        for key in dtypes or DTYPES:
            model = build().train(train)
            model.load_state_dict(state)
            model.to(device)
            try:
                outs, grad, weight_grad = _train_step(model, x.float().to(device),
                                                 None if key == 'fp32' else DTYPES[key], device)
            except Exception as e:  # reported as a row: the rest of the check still runs
                rows.append(dict(check='train', name=name, dtype=key, status='error',
                                 error=f'{type(e).__name__}: {str(e).splitlines()[0]}'))
                continue
            errors = dict(outputs=max(_relative(o, r) for o, r in zip(outs, ref_outs)),
                          input_grad=_relative(grad, ref_grad),
                          weight_grad=_relative(weight_grad, ref_weight_grad))
            rows.append(_row('train', name, key, errors, TOLERANCE[key]))
    return rows


def _sdpa_backend(name: str):
    """A context that forces SDPA backend ``name`` (torch.nn.attention.sdpa_kernel, torch >= 2.3)."""
    try:
        from torch.nn.attention import SDPBackend, sdpa_kernel
    except ImportError:
        raise RuntimeError('forcing one SDPA backend needs torch >= 2.3')
    if not hasattr(SDPBackend, name):
        raise RuntimeError(f'this torch has no SDPA backend {name}')
    return sdpa_kernel([getattr(SDPBackend, name)])


def _decay_mask(heads: int, length: int) -> torch.Tensor:
    """(1, heads, L, L) float mask shaped like RMT's: log-decay times the Manhattan distance of a
    square map's tokens, one decay per head."""
    side = int(length ** 0.5)
    ys, xs = torch.meshgrid(torch.arange(side), torch.arange(side), indexing='ij')
    pos = torch.stack([ys.flatten(), xs.flatten()], -1).double()
    distance = (pos[:, None] - pos[None]).abs().sum(-1)
    decay = torch.log(1 - 2.0 ** (-5 - torch.arange(heads, dtype=torch.float64)))
    return (decay[:, None, None] * distance)[None]


def check_sdpa(device: str, dtypes: Optional[Sequence[str]] = None, shapes=None,
               backends: Sequence[str] = SDPA_BACKENDS, seed: int = 0) -> List[dict]:
    """Masked SDPA per backend, dtype and shape (B, heads, L, head dim; L a square) against float64
    on the CPU: the output and the gradients of q, k and v (loss: the output times a fixed ramp).

    Returns:
        One row per (backend, shape, dtype): relative errors ``out``, ``grad_q``, ``grad_k``,
        ``grad_v`` (inf where not finite: a NaN gradient fails its row), or ``status='unavailable'``
        with the backend's refusal.
    """
    rows = []
    for shape in shapes or SDPA_SHAPES:
        torch.manual_seed(seed)
        q, k, v = (torch.randn(shape, dtype=torch.float64) for _ in range(3))
        mask = _decay_mask(shape[1], shape[2])
        ramp = torch.linspace(-1, 1, q.numel(), dtype=torch.float64).view(shape)

        def run(dtype, dev, tensors):
            inputs = [t.detach().to(dev, dtype, copy=True).requires_grad_(True) for t in tensors]
            out = F.scaled_dot_product_attention(*inputs, attn_mask=mask.to(dev, dtype))
            (out.double() * ramp.to(dev)).sum().backward()
            return [out] + [t.grad for t in inputs]

        reference = run(torch.float64, 'cpu', (q, k, v))
        for backend in backends:
            for key in dtypes or DTYPES:
                name = f'{backend} L={shape[2]}'
                try:
                    with _sdpa_backend(backend):
                        results = run(DTYPES[key], device, (q, k, v))
                except RuntimeError as e:
                    rows.append(dict(check='sdpa', name=name, dtype=key, status='unavailable',
                                     error=str(e).splitlines()[0][:160]))
                    continue
                errors = {n: _relative(r, ref) for n, r, ref in
                          zip(('out', 'grad_q', 'grad_k', 'grad_v'), results, reference)}
                rows.append(_row('sdpa', name, key, errors, OP_TOLERANCE[key]))
    return rows


def check_mmcv_ops(device: str, seed: int = 0) -> List[dict]:
    """mmcv's ``roi_align`` ((K, C, 7, 7) from a (2, 16, 32, 32) map) and ``nms`` (200 boxes) on
    ``device`` against their CPU kernels: a relative error for RoIAlign, the kept indices for NMS
    (equal or failed); ``status='error'`` where the device has no kernel (an mmcv built without
    CUDA ops: 'implementation for device cuda:0 not found')."""
    torch.manual_seed(seed)
    feats = torch.randn(2, 16, 32, 32)
    xy = torch.rand(40, 2) * 24
    rois = torch.cat([torch.randint(0, 2, (40, 1)).float(), xy, xy + 1 + torch.rand(40, 2) * 8], 1)
    boxes = torch.cat([xy.repeat(5, 1), xy.repeat(5, 1) + 4 + torch.rand(200, 2) * 8], 1)
    scores = torch.rand(200)
    rows = []
    try:
        from mmcv.ops import nms, roi_align
        expected = roi_align(feats, rois, (7, 7), 1.0, 2, 'avg', True)
        got = roi_align(feats.to(device), rois.to(device), (7, 7), 1.0, 2, 'avg', True)
        rows.append(_row('mmcv', 'roi_align', 'fp32', dict(out=_relative(got, expected)),
                         OP_TOLERANCE['fp32']))
        keep = nms(boxes, scores, 0.5)[1]
        got_keep = nms(boxes.to(device), scores.to(device), 0.5)[1].cpu()
        rows.append(dict(check='mmcv', name='nms', dtype='fp32', kept=int(keep.numel()),
                         status='pass' if torch.equal(keep, got_keep) else 'FAIL'))
    except Exception as e:  # no mmcv.ops, or no kernel for this device
        rows.append(dict(check='mmcv', name='roi_align, nms', dtype='fp32', status='error',
                         error=f'{type(e).__name__}: {str(e).splitlines()[0]}'))
    return rows


def run_gpu_check(device: str = 'cuda', size: Sequence[int] = (224, 224), batch: int = 2,
                  models: Optional[Dict[str, Callable[[], torch.nn.Module]]] = None,
                  shapes=None) -> dict:
    """All three checks (module docstring) on ``device``.

    Returns:
        ``{'device', 'torch', 'cuda', 'cudnn', 'seconds', 'rows', 'failed'}``: ``failed`` counts the
        rows with status 'FAIL' or 'error' (``unavailable`` SDPA backends are not failures).
    """
    start = time.perf_counter()
    rows = check_training(device, size=size, batch=batch, models=models)
    rows += check_sdpa(device, shapes=shapes)
    rows += check_mmcv_ops(device)
    cuda = device.startswith('cuda')
    return dict(device=torch.cuda.get_device_name(torch.device(device)) if cuda else device,
                torch=torch.__version__, cuda=torch.version.cuda,
                cudnn=torch.backends.cudnn.version() if cuda else None,
                seconds=round(time.perf_counter() - start, 1), rows=rows,
                failed=sum(r['status'] in ('FAIL', 'error') for r in rows))


def format_gpu_check(record: dict) -> str:
    """The record of :func:`run_gpu_check` as text, one line per row."""
    lines = [f"gpu check on {record['device']} (torch {record['torch']}, CUDA {record['cuda']}, "
             f"cuDNN {record['cudnn']}): {record['failed']} failed of {len(record['rows'])}"]
    for row in record['rows']:
        values = ', '.join(f'{k} {v}' for k, v in row.items() if k not in ('check', 'name', 'dtype',
                                                                        'status'))
        lines.append(f"  {row['status']:<11} {row['check']:<5} {row['name']:<26} {row['dtype']:<4} "
                     f'{values}')
    return '\n'.join(lines)
