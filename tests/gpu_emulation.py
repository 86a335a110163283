"""GPU behaviour on the CPU, for tests: CUDA autocast's casts applied to CPU autocast, a guard that
raises where a step would synchronise the host with the device, and tensors on a fake CUDA device.

- :func:`cuda_autocast_lists`: inside it, ``torch.autocast('cpu', ...)`` casts as
  ``torch.autocast('cuda', ...)`` does. The two differ: CUDA autocast runs LayerNorm, GroupNorm,
  softmax, sum, exp, log, pow, the upsampling kernels and the losses in fp32 (its ``fp32`` and
  ``fp32_set_opt_dtype`` lists), where CPU autocast leaves them in the input's dtype (bf16 after a
  bf16 linear or conv); CUDA refuses ``binary_cross_entropy``; CPU autocast has lists of its own
  (``cat``, ``stack``, ``grid_sampler``, linear algebra, FFTs) that CUDA does not. The lists are
  torch's ``AT_FORALL_*`` macros of aten/src/ATen/autocast_mode.h and the AutocastCUDA registrations
  of aten/src/ATen/autocast_mode.cpp; :func:`unclassified_cuda_ops` says where the installed torch
  registers an op they lack. The kernels are Python kernels on the ``AutocastCPU`` dispatch key
  (torch.library), removed on exit.
- :class:`NoSyncGuard`: a ``TorchDispatchMode`` that raises :class:`SyncError` on
  ``aten._local_scalar_dense`` (``.item()``, ``float(t)``, ``bool(t)``, ``if t:``), ``aten.is_nonzero``,
  ``aten.item``, ``aten.equal``, ops whose output shape depends on the values (``nonzero``,
  ``masked_select``, ``unique``, boolean-mask indexing, ``repeat_interleave`` without
  ``output_size``), copies from a device to the host, and blocking copies from the host to a
  device (torch ends them with a stream synchronisation). On CUDA each of these waits for the GPU
  (``torch.cuda.set_sync_debug_mode('error')`` raises on them there).
- :func:`fake_cuda`: ``FakeTensorMode`` with CUDA autocast settable: tensors with
  ``device.type == 'cuda'`` and no data, so that a forward takes the GPU branches of the code
  (``x.device.type != 'cpu'``) and runs torch's own CUDA autocast kernels, on a machine without a
  GPU. Autograd's engine needs a real CUDA device, so backward runs on CPU tensors only.
"""
import contextlib
import traceback
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten, tree_map

# --------------------------------------------------------------------------- CUDA autocast's lists
# aten/src/ATen/autocast_mode.h, AT_FORALL_LOWER_PRECISION_FP, and autocast_mode.cpp's
# cudnn_convolution(_transpose) and _cudnn_rnn (torch >= 2.10).
CUDA_LOWER_PRECISION = (
    '_convolution.deprecated', '_convolution', 'conv1d', 'conv2d', 'conv3d', 'conv_tbc',
    'conv_transpose1d', 'conv_transpose2d.input', 'conv_transpose3d.input', 'convolution', 'prelu',
    'addmm', 'addmv', 'addr', 'matmul', 'einsum', 'mm', 'mv', 'linalg_vecdot', 'linear', 'addbmm',
    'baddbmm', 'bmm', 'chain_matmul', 'linalg_multi_dot', '_thnn_fused_lstm_cell',
    '_thnn_fused_gru_cell', 'lstm_cell', 'gru_cell', 'rnn_tanh_cell', 'rnn_relu_cell',
    '_scaled_dot_product_flash_attention', 'scaled_dot_product_attention', 'cudnn_convolution',
    'cudnn_convolution_transpose', '_cudnn_rnn')
# AT_FORALL_FP32 (rms_norm and linalg_matrix_sqrth: newer torch, fp32 as torch's own CUDA autocast
# runs them, tests/test_models/test_gpu_emulation.py).
CUDA_FP32 = (
    'acos', 'asin', 'cosh', 'erfinv', 'exp', 'expm1', 'log', 'log10', 'log2', 'log1p', 'reciprocal',
    'rsqrt', 'sinh', 'tan', 'pow.Tensor_Scalar', 'pow.Tensor_Tensor', 'pow.Scalar', 'softplus',
    'layer_norm', 'native_layer_norm', 'rms_norm', 'group_norm', 'frobenius_norm.dim',
    'nuclear_norm', 'nuclear_norm.dim', 'cosine_similarity', 'poisson_nll_loss',
    'cosine_embedding_loss', 'nll_loss', 'nll_loss2d', 'hinge_embedding_loss', 'kl_div', 'l1_loss',
    'smooth_l1_loss', 'huber_loss', 'mse_loss', 'margin_ranking_loss', 'multilabel_margin_loss',
    'soft_margin_loss', 'triplet_margin_loss', 'multi_margin_loss',
    'binary_cross_entropy_with_logits', 'dist', 'pdist', 'cdist', 'renorm', 'logsumexp',
    'upsample_nearest1d', '_upsample_nearest_exact1d', 'upsample_nearest2d',
    '_upsample_nearest_exact2d', 'upsample_nearest3d', '_upsample_nearest_exact3d',
    'upsample_linear1d', 'upsample_bilinear2d', '_upsample_bilinear2d_aa', 'upsample_trilinear3d',
    'upsample_bicubic2d', '_upsample_bicubic2d_aa', 'linalg_matrix_sqrth')
# AT_FORALL_FP32_SET_OPT_DTYPE: fp32 through the op's own ``dtype`` argument, unless one is given.
CUDA_FP32_SET_OPT_DTYPE = (
    'prod', 'prod.dim_int', 'prod.dim_Dimname', 'softmax.int', 'softmax.Dimname', 'log_softmax.int',
    'log_softmax.Dimname', 'cumprod', 'cumprod.dimname', 'cumsum', 'cumsum.dimname',
    'linalg_vector_norm', 'linalg_matrix_norm', 'linalg_matrix_norm.str_ord', 'sum',
    'sum.dim_IntList', 'sum.dim_DimnameList')
# AT_FORALL_DIFFERENT_REDISPATCH_SIGNATURE (fp32_append_dtype): op -> the overload taking a dtype.
CUDA_FP32_APPEND_DTYPE = {'norm.Scalar': 'norm.ScalarOpt_dtype',
                          'norm.ScalarOpt_dim': 'norm.ScalarOpt_dim_dtype',
                          'norm.names_ScalarOpt_dim': 'norm.names_ScalarOpt_dim_dtype'}
# AT_FORALL_PROMOTE: the widest floating dtype of the inputs.
CUDA_PROMOTE = ('addcdiv', 'addcmul', 'atan2', 'bilinear', 'cross', 'dot', 'vdot', 'grid_sampler',
                'index_put', 'tensordot', 'scatter_add')
# autocast_mode.cpp's binary_cross_entropy_banned.
CUDA_BANNED = ('binary_cross_entropy', )
BANNED_MESSAGE = ('torch.nn.functional.binary_cross_entropy and torch.nn.BCELoss are unsafe to '
                  'autocast (CUDA autocast raises): use binary_cross_entropy_with_logits')

POLICIES = dict(**dict.fromkeys(CUDA_LOWER_PRECISION, 'lower_precision_fp'),
                **dict.fromkeys(CUDA_FP32, 'fp32'),
                **dict.fromkeys(CUDA_FP32_SET_OPT_DTYPE, 'fp32_set_opt_dtype'),
                **dict.fromkeys(CUDA_FP32_APPEND_DTYPE, 'fp32_append_dtype'),
                **dict.fromkeys(CUDA_PROMOTE, 'promote'),
                **dict.fromkeys(CUDA_BANNED, 'banned'))


def _autocast_ops(key: str) -> List[str]:
    """The aten ops (``name`` or ``name.overload``) with a kernel of their own on dispatch key
    ``key`` ('AutocastCUDA', 'AutocastCPU') in this torch."""
    ops = []
    for qualified in torch._C._dispatch_get_all_op_names():
        if qualified.startswith('aten::') and \
                torch._C._dispatch_has_kernel_for_dispatch_key(qualified, key):
            ops.append(qualified[len('aten::'):])
    return sorted(ops)


def unclassified_cuda_ops() -> List[str]:
    """Ops this torch's CUDA autocast casts that :data:`POLICIES` lacks (empty when the lists are
    complete for this torch)."""
    return [op for op in _autocast_ops('AutocastCUDA') if op not in POLICIES]


def _overload(name: str) -> torch._ops.OpOverload:
    packet, _, overload = name.partition('.')
    return getattr(getattr(torch.ops.aten, packet), overload or 'default')


def _eligible(t) -> bool:  # autocast's is_eligible on the CPU: a CPU float tensor, not float64
    return isinstance(t, torch.Tensor) and t.device.type == 'cpu' and t.is_floating_point() and \
        t.dtype != torch.float64


def _cast(tree, dtype: torch.dtype):
    return tree_map(lambda t: t.to(dtype) if _eligible(t) else t, tree)


def _lower_dtype() -> torch.dtype:
    return torch.get_autocast_dtype('cpu') if hasattr(torch, 'get_autocast_dtype') else \
        torch.get_autocast_cpu_dtype()


def _kernel(name: str, policy: str):
    """A Python kernel for ``aten::name`` on AutocastCPU that casts as ``policy`` does in
    autocast_mode.h's WrapFunction_ and then runs the op below autocast."""
    op = _overload(name)
    below = torch._C.DispatchKeySet(torch._C.DispatchKey.AutocastCPU)
    schema_args = [a.name for a in op._schema.arguments]
    target = _overload(CUDA_FP32_APPEND_DTYPE[name]) if policy == 'fp32_append_dtype' else op

    def kernel(*args, **kwargs):
        if policy == 'banned':
            raise RuntimeError(BANNED_MESSAGE)
        if policy == 'lower_precision_fp':
            args, kwargs = _cast((args, kwargs), _lower_dtype())
        elif policy == 'fp32':
            args, kwargs = _cast((args, kwargs), torch.float32)
        elif policy == 'promote':
            tensors = [t for t in tree_flatten((args, kwargs))[0] if _eligible(t)]
            wide = torch.float32 if any(t.dtype == torch.float32 for t in tensors) else _lower_dtype()
            args, kwargs = _cast((args, kwargs), wide)
        elif policy == 'fp32_set_opt_dtype' and _eligible(args[0]):
            at = schema_args.index('dtype')
            if at < len(args):
                if args[at] is None:
                    args = args[:at] + (torch.float32, ) + args[at + 1:]
            elif kwargs.get('dtype') is None:
                kwargs = dict(kwargs, dtype=torch.float32)
        elif policy == 'fp32_append_dtype':
            kwargs = dict(kwargs, dtype=torch.float32 if _eligible(args[0]) else args[0].dtype)
        with torch._C._ExcludeDispatchKeyGuard(below):
            return target(*args, **kwargs)
    return kernel


@contextlib.contextmanager
def cuda_autocast_lists() -> Iterator[Dict[str, str]]:
    """CPU autocast casts as CUDA autocast inside the ``with`` block (see the module docstring).

    Yields:
        ``{op: policy}`` of the kernels replaced: CUDA's policy, or ``'none'`` for an op that CPU
        autocast casts and CUDA autocast does not.

    Raises:
        RuntimeError: this torch's CUDA autocast casts an op the lists lack
            (:func:`unclassified_cuda_ops`): add it with torch's policy.
    """
    missing = unclassified_cuda_ops()
    if missing:
        raise RuntimeError(f'CUDA autocast casts ops the emulation does not know: {missing}; add '
                           "them to tests/gpu_emulation.py with their policy in torch's "
                           'aten/src/ATen/autocast_mode.h')
    registered = set(_autocast_ops('AutocastCUDA'))
    replaced = {name: policy for name, policy in POLICIES.items() if name in registered}
    replaced.update({name: 'none' for name in _autocast_ops('AutocastCPU') if name not in replaced})
    lib = torch.library.Library('aten', 'IMPL')
    try:
        for name, policy in replaced.items():
            lib.impl(name, _kernel(name, policy), 'AutocastCPU')
        yield replaced
    finally:
        lib._destroy()


# ------------------------------------------------------------------------------- the no-sync guard
class SyncError(RuntimeError):
    """An op that would make the host wait for the device (on CUDA)."""


_aten = torch.ops.aten
# Ops that return a host value computed on the device.
SCALAR_SYNCS = {_aten._local_scalar_dense.default, _aten.is_nonzero.default, _aten.item.default,
                _aten.equal.default}
# Ops whose output size depends on the values: the host reads a count from the device.
SHAPE_SYNCS = {_aten.nonzero.default, _aten.masked_select.default, _aten._unique.default,
               _aten._unique2.default, _aten.unique_dim.default, _aten.unique_consecutive.default,
               _aten.bincount.default}


def sync_reason(func, args, kwargs) -> Optional[str]:
    """Why ``func(*args, **kwargs)`` would synchronise on a GPU, or None."""
    if func in SCALAR_SYNCS:
        return 'returns a value to the host'
    if func in SHAPE_SYNCS:
        return 'has an output size that depends on the values'
    if func is _aten.repeat_interleave.Tensor and kwargs.get('output_size') is None and \
            (len(args) < 2 or args[1] is None):
        return 'repeat_interleave without output_size reads the repeats on the host'
    if func in (_aten.index.Tensor, _aten.index_put.default, _aten.index_put_.default,
                _aten._index_put_impl_.default):
        indices = args[1] if len(args) > 1 else kwargs.get('indices', ())
        if any(i is not None and i.dtype in (torch.bool, torch.uint8) for i in indices):
            return 'boolean-mask indexing has an output size that depends on the values'
    if func is _aten._to_copy.default and kwargs.get('device') is not None:
        return _copy_reason(args[0].device, torch.device(kwargs['device']),
                            kwargs.get('non_blocking', False))
    if func in (_aten.copy_.default, _aten._copy_from.default):
        return _copy_reason(args[1].device, args[0].device,
                            args[2] if len(args) > 2 else kwargs.get('non_blocking', False))
    return None


def _copy_reason(src: torch.device, dst: torch.device, non_blocking: bool) -> Optional[str]:
    if src.type != 'cpu' and dst.type == 'cpu':
        return 'copies from the device to the host'
    # A blocking host-to-device copy ends in cudaStreamSynchronize (at::cuda::memcpy_and_sync):
    # the host waits for every kernel queued before it.
    if src.type == 'cpu' and dst.type != 'cpu' and not non_blocking:
        return 'copies from the host to the device and waits for it (non_blocking=False)'
    return None


def _call_site() -> str:
    """The innermost frame outside torch and this file: where the synchronising call was written."""
    for frame in reversed(traceback.extract_stack()[:-3]):
        path = frame.filename.replace('\\', '/')
        if '/torch/' not in path and not path.endswith('gpu_emulation.py'):
            return f'{path}:{frame.lineno} in {frame.name}'
    return 'unknown'


class NoSyncGuard(TorchDispatchMode):
    """Raise :class:`SyncError` on ops that synchronise a GPU with the host (module docstring).

    Args:
        allow: Call sites (``'file.py:function'``, matched against the end of the site) where a
            synchronisation is expected and only recorded: e.g. a check that runs on the CPU only.

    Attributes:
        syncs: ``(op, reason, site)`` of every synchronisation seen, allowed or not.

    Example::

        with NoSyncGuard():
            loss = model(x).sum()
            loss.backward()
    """

    def __init__(self, allow: Sequence[str] = ()):
        super().__init__()
        self.allow = tuple(allow)
        self.syncs: List[Tuple[str, str, str]] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        reason = sync_reason(func, args, kwargs)
        if reason is not None:
            site = _call_site()
            self.syncs.append((str(func), reason, site))
            path, _, function = site.rpartition(' in ')
            if not any(path.split(':')[0].endswith(a.split(':')[0]) and function == a.split(':')[1]
                       for a in self.allow):
                raise SyncError(f'{func} {reason}: a host-device synchronisation on a GPU, at {site}')
        return func(*args, **kwargs)


# ---------------------------------------------------------------------------------- fake CUDA
def _set_cuda_autocast(enabled: bool, dtype: torch.dtype) -> None:
    # torch.autocast('cuda') asks the driver for bf16 support; the flags themselves need no GPU.
    try:
        torch.set_autocast_enabled('cuda', enabled)
        torch.set_autocast_dtype('cuda', dtype)
    except TypeError:  # torch < 2.4: the CUDA flags have their own functions
        torch.set_autocast_enabled(enabled)
        torch.set_autocast_gpu_dtype(dtype)


@contextlib.contextmanager
def fake_cuda(autocast: Optional[torch.dtype] = None) -> Iterator[None]:
    """Tensors made or moved to ``'cuda'`` inside the block are fake CUDA tensors (shapes, dtypes,
    devices; no values); ``autocast``: CUDA autocast in that dtype meanwhile (torch's own kernels).

    Example::

        with fake_cuda(torch.bfloat16):
            outs = model.to('cuda')(torch.randn(2, 3, 64, 64, device='cuda'))
    """
    from torch._subclasses.fake_tensor import FakeTensorMode
    if autocast is None:
        with FakeTensorMode(allow_non_fake_inputs=True):
            yield
        return
    before = torch.get_autocast_dtype('cuda') if hasattr(torch, 'get_autocast_dtype') else \
        torch.get_autocast_gpu_dtype()
    with FakeTensorMode(allow_non_fake_inputs=True):
        _set_cuda_autocast(True, autocast)
        try:
            yield
        finally:
            _set_cuda_autocast(False, before)


# ------------------------------------------------------------------------------ stubbed devices
def stub_gpus(monkeypatch, *gpus: Tuple[str, Tuple[int, int]]) -> List[int]:
    """Make torch report CUDA devices ``(name, (major, minor))`` through its device-property
    functions (``is_available``, ``device_count``, ``get_device_capability``,
    ``get_device_properties``), which is all a decision about a device should ask; the functions
    that would select a device, create a CUDA context or count emulated bf16 as support
    (``is_bf16_supported``, ``current_device``, ``set_device``, ``init``) raise.

    Returns:
        The device indices asked about, in order (filled as the code under test runs).
    """
    asked: List[int] = []

    def props(index=None):
        if index is None:
            raise AssertionError('a device property was asked of the current device (GPU 0 in '
                                 'every rank before set_device): pass the index')
        index = torch.device('cuda', index).index if isinstance(index, (str, torch.device)) else index
        asked.append(index)
        name, (major, minor) = gpus[index]
        return type('Props', (), dict(name=name, major=major, minor=minor))()

    def forbidden(name):
        def call(*args, **kwargs):
            raise AssertionError(f'torch.cuda.{name} was called')
        return call
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(torch.cuda, 'device_count', lambda: len(gpus))
    monkeypatch.setattr(torch.cuda, 'get_device_properties', props)

    def capability(index=None):
        p = props(index)
        return p.major, p.minor
    monkeypatch.setattr(torch.cuda, 'get_device_capability', capability)
    for name in ('is_bf16_supported', 'current_device', 'set_device', 'init'):
        monkeypatch.setattr(torch.cuda, name, forbidden(name))
    return asked
