"""What this machine offers restv2-mm: a self-check to run after installing.

    python -m restv2_mm.cli.collect_env [--check-device DEVICE] [--size H W]
    python -m restv2_mm.cli.collect_env --gpu-check [--out FILE.json]
    python tools/misc/collect_env.py ...                 (the same)

Prints the environment (mmengine's ``collect_env``: Python, CUDA, compilers, torch, torchvision,
OpenCV), mmcv and whether its compiled ops import, the OpenMMLab libraries and whether their models
import, where restv2_mm's configs are, how checkpoints are loaded, and which fast paths
(:mod:`restv2_mm.ops`), attention kernels, checkpointing modes and export paths this torch has.

``--gpu-check`` is the first command to run on a GPU machine: training steps of ResTv2-T and RMT-T
in fp32/bf16/fp16, RMT's masked attention through each SDPA backend, and mmcv's CUDA ops, each
against float64 on the CPU with a tolerance (:mod:`.gpu_check`); ``--out FILE.json`` keeps the
record, and the exit status is 1 if a row failed.

With a CUDA GPU (or ``--check-device``), one forward/backward of ResTv2-T (224x224, batch 2) runs
on that device in fp32 and under autocast in bf16 and fp16, each against the fp32 CPU result: the
largest absolute difference of the outputs and of the input gradient is printed. On a machine
without a GPU ``--check-device cpu`` runs the same check with the CPU's autocast (bf16; fp16 where
this torch supports it).
"""
import argparse
import contextlib
import importlib
import importlib.metadata
import os.path as osp
import sys
import warnings
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence

import torch

from ..models import ResTv2, selective_available
from ..ops import fast_path_enabled
from ..utils import write_json
from ..utils.paths import PACKAGE, mim_root
from ..utils.torch_compat import (
    default_weights_only,
    has_dynamo_onnx_export,
    has_safe_globals,
    is_compiling,
)
from .cuda import device_name, local_device_index, mmcv_ops_status, native_bf16
from .gpu_check import format_gpu_check, run_gpu_check

LIBRARIES = ('mmdet', 'mmseg', 'mmpretrain')


def _try(fn, default='unavailable'):
    try:
        return fn()
    except Exception as e:  # a report: every failure is a line, never a crash
        return f'{default} ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ""})'


def _mmcv_info() -> Dict[str, str]:
    info: Dict[str, str] = OrderedDict()
    try:
        import mmcv
    except ImportError as e:
        info['mmcv'] = f'not installed ({e})'
        return info
    info['mmcv'] = mmcv.__version__
    kind, detail = mmcv_ops_status()
    if kind == 'cuda':
        info['mmcv ops'] = f'compiled with CPU and CUDA kernels (CUDA {detail})'
    elif kind == 'cpu':
        info['mmcv ops'] = (f"compiled with CPU kernels only ({detail}): mmdet's NMS, RoIAlign and "
                            'focal loss fail on CUDA tensors')
        if torch.cuda.is_available():
            info['mmcv ops'] += ('. THIS MACHINE HAS A GPU: rebuild mmcv with `bash '
                                 'tools/misc/setup_env.sh`')
    else:
        info['mmcv ops'] = (f'absent ({detail}): mmcv-lite or a build without ops; mmdet and mmseg '
                            'models need them, ResTv2/ResTv1/RMT and mmpretrain do not')
    if kind != 'absent':
        from mmcv.ops import get_compiler_version
        info['mmcv compiler'] = get_compiler_version()
    return info


def _libraries() -> Dict[str, str]:
    info: Dict[str, str] = OrderedDict()
    for lib in LIBRARIES:
        try:
            module = importlib.import_module(lib)
        except ImportError:
            info[lib] = 'not installed'
            continue
        models = _try(lambda: importlib.import_module(f'{lib}.models') and 'models import',
                      'models do not import')
        info[lib] = f'{module.__version__}, {models}'
    return info


def _restv2_info() -> Dict[str, str]:
    info: Dict[str, str] = OrderedDict()
    try:
        version = importlib.metadata.version('restv2-mm')
    except importlib.metadata.PackageNotFoundError:
        version = 'not installed (imported from the source tree)'
    info['restv2_mm'] = f'{version} at {PACKAGE}'
    registered = []
    for lib in ('mmengine', ) + LIBRARIES:
        try:
            registry = importlib.import_module(f'{lib}.registry')
        except ImportError:
            continue
        if 'ResTv2' in registry.MODELS.module_dict:
            registered.append(lib)
    info['backbones registered in'] = ', '.join(registered) or 'none (import restv2_mm first)'
    root = mim_root()
    metafile = osp.join(root, 'configs', 'mmpretrain', 'metafile.yml')
    info['configs, tools, model-index.yml'] = root + ('' if osp.isfile(metafile)
                                                      else ' (not found: no get_model names)')
    if has_safe_globals():
        loading = "torch weights_only loader with restv2_mm's safe globals"
    else:
        loading = ("restv2_mm's restricted unpickler (torch < 2.4 has no add_safe_globals), same "
                   'allow-list')
    if not default_weights_only():
        loading += "; mmengine's local checkpoint loader replaced by it (torch < 2.6 loads " \
                   'everything by default)'
    info['checkpoint loading'] = loading
    return info


def _kernels() -> Dict[str, str]:
    info: Dict[str, str] = OrderedDict()
    aten = torch.ops.aten
    info['fast paths'] = 'on' if fast_path_enabled() else 'off (RESTV2_FAST_PATH=0)'
    # The condition under which restv2_mm.ops' MLP fuses linear+GELU on the CPU.
    onednn = torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, '_linear_pointwise')
    info['oneDNN fused linear+GELU (CPU fp32 inference)'] = \
        'available' if onednn else 'unavailable: plain Linear and GELU'
    info['SDPA CPU flash kernel'] = \
        'available (aten._scaled_dot_product_flash_attention_for_cpu)' \
        if hasattr(aten, '_scaled_dot_product_flash_attention_for_cpu') else \
        'no aten._scaled_dot_product_flash_attention_for_cpu op in this torch'
    if torch.cuda.is_available():
        cuda = torch.backends.cuda
        for name in ('flash', 'mem_efficient', 'math', 'cudnn'):
            enabled = getattr(cuda, f'{name}_sdp_enabled', None)
            if enabled is not None:
                info[f'SDPA CUDA {name}'] = 'enabled' if enabled() else 'disabled'
        if hasattr(cuda, 'is_flash_attention_available'):
            info['SDPA CUDA flash built'] = str(cuda.is_flash_attention_available())
        index = local_device_index()
        info['bf16 autocast'] = (f'native on {device_name(index)}' if native_bf16(index) else
                                 f'emulated on {device_name(index)} (compute capability < 8.0): the '
                                 'bf16 configs train in fp16 there')
    else:
        info['SDPA CUDA kernels'] = 'no CUDA device'
    info["with_cp='full' / True"] = 'available'
    info["with_cp='selective'"] = 'available' if selective_available() else \
        'unavailable (needs torch >= 2.4; building with it raises)'
    info['torch.compile'] = 'available' if hasattr(torch, 'compile') else 'unavailable'
    info['is_compiling check'] = _try(lambda: f'works ({is_compiling()})')
    info['ONNX export (tools/deployment/pytorch2onnx.py)'] = 'available' if has_dynamo_onnx_export() \
        else ('unavailable: needs torch.onnx.export(dynamo=True) and size-oblivious torch.export '
              '(tested on torch 2.14)')
    return info


def collect_env() -> Dict[str, str]:
    """Everything :func:`main` prints, as ``name -> value`` (values are strings)."""
    from mmengine.utils.dl_utils import collect_env as mmengine_env
    info: Dict[str, str] = OrderedDict((k, str(v)) for k, v in mmengine_env().items())
    for part in (_mmcv_info, _libraries, _restv2_info, _kernels):
        info.update(part())
    return info


def device_check(device: str, dtypes: Sequence[torch.dtype] = (torch.float32, torch.bfloat16,
                                                                torch.float16),
                 size: Sequence[int] = (224, 224), batch: int = 2, seed: int = 0
                 ) -> List[Dict[str, object]]:
    """One forward and backward of ResTv2-T on ``device`` per dtype (fp32 plain; bf16/fp16 under
    ``torch.autocast``), each against the same model in fp32 on the CPU.

    Args:
        device: ``'cuda'``, ``'cuda:1'``, ``'cpu'``...
        dtypes: Compute dtypes; one the device's autocast does not support is reported as skipped.
        size: Input (H, W).
        batch: Batch size N.

    Returns:
        One dict per dtype: ``dtype``, ``out_max_diff`` (largest absolute difference of the four
        (N, C_i, H_i, W_i) outputs), ``grad_max_diff`` (of the (N, 3, H, W) input gradient of
        ``sum(mean(out_i * ramp))``, ramp a fixed -1..1 pattern), ``out_max_abs`` and
        ``grad_max_abs`` (the CPU fp32 magnitudes, for scale), or ``skipped`` with the reason.
    """
    torch.manual_seed(seed)
    model = ResTv2(arch='tiny').eval()
    x = torch.randn(batch, 3, *size)

    def run(module, inp, dtype, dev):
        inp = inp.detach().to(dev, copy=True).requires_grad_(True)
        module.zero_grad()
        if dtype == torch.float32:
            context = contextlib.nullcontext()
        else:  # a dtype the device's autocast does not take: torch warns and runs fp32; raised here
            with warnings.catch_warnings():
                warnings.simplefilter('error')
                context = torch.autocast(device_type=torch.device(dev).type, dtype=dtype)
        with context:
            outs = module(inp)
        # A loss with a gradient everywhere (the mean of a LayerNorm output has almost none).
        loss = sum((o.float() * torch.linspace(-1, 1, o.numel(), device=o.device).view_as(o)).mean()
                   for o in outs)
        loss.backward()
        return [o.detach().float().cpu() for o in outs], inp.grad.detach().float().cpu().clone()

    ref_outs, ref_grad = run(model, x, torch.float32, 'cpu')
    on_device = model.to(device)
    results = []
    for dtype in dtypes:
        name = str(dtype).replace('torch.', '')
        try:
            outs, grad = run(on_device, x, dtype, device)
        except (RuntimeError, TypeError, UserWarning) as e:
            results.append({'dtype': name, 'skipped': f'{type(e).__name__}: {str(e).splitlines()[0]}'})
            continue
        results.append({
            'dtype': name,
            'out_max_diff': max(float((o - r).abs().max()) for o, r in zip(outs, ref_outs)),
            'grad_max_diff': float((grad - ref_grad).abs().max()),
            'out_max_abs': max(float(r.abs().max()) for r in ref_outs),
            'grad_max_abs': float(ref_grad.abs().max()),
        })
    return results


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, str]:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument('--check-device', metavar='DEVICE',
                        help="run the forward/backward check on DEVICE (default: 'cuda' when a "
                             'GPU is present, else no check)')
    parser.add_argument('--size', nargs=2, type=int, default=(224, 224), metavar=('H', 'W'))
    parser.add_argument('--gpu-check', action='store_true',
                        help='the GPU self-check (restv2_mm.cli.gpu_check) on --check-device '
                             "(default 'cuda'); exit status 1 if a row fails")
    parser.add_argument('--out', metavar='FILE.json', help='--gpu-check: write its record here')
    args = parser.parse_args(argv)
    if args.out and not args.gpu_check:
        parser.error('--out needs --gpu-check')
    info = collect_env()
    width = max(len(k) for k in info)
    for key, value in info.items():
        print(f'{key:<{width}} : {value}')
    device = args.check_device or ('cuda' if torch.cuda.is_available() else None)
    if args.gpu_check:
        if device is None:
            parser.error('--gpu-check: no CUDA device (--check-device cpu runs it on the CPU)')
        record = run_gpu_check(device, size=args.size)
        print('\n' + format_gpu_check(record))
        if args.out:
            write_json(args.out, record)
        if record['failed']:
            sys.exit(1)
        return info
    if device is None:
        print('\nforward/backward check: no CUDA device (run with --check-device cpu to check the CPU)')
        return info
    print(f'\nforward/backward check: ResTv2-T, batch 2, {args.size[0]}x{args.size[1]}, on '
          f'{device} against CPU fp32 (max abs diff)')
    for row in device_check(device, size=args.size):
        if 'skipped' in row:
            print(f"  {row['dtype']:<9} skipped: {row['skipped']}")
        else:
            print(f"  {row['dtype']:<9} outputs {row['out_max_diff']:.3e} (of |max| "
                  f"{row['out_max_abs']:.3g})  input grad {row['grad_max_diff']:.3e} (of |max| "
                  f"{row['grad_max_abs']:.3g})")
    return info


if __name__ == '__main__':
    main()
