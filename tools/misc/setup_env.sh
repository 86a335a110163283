#!/usr/bin/env bash
# Create (or complete) the project environment in .venv from nothing but Python 3.11.
#
#   bash tools/misc/setup_env.sh        # idempotent: installs only what is missing
#
# Versions come from requirements/pinned.txt. mmcv 2.1.0 exists on PyPI only as source and its
# setup.py asks for C++17, while torch 2.14's headers need C++20: we patch the flag, build the wheel
# once (about 15 min on 2 cores, tools/misc/build_mmcv.sh) and keep it in $RESTV2_CACHE (default
# ~/.cache/restv2-mm), keyed by the torch version, whether CUDA ops were built and the Python tag, so
# later runs and clean clones reuse it. Another Python: PYTHON=python3.12 RESTV2_VENV=.venv-py312.
# Where `nvidia-smi -L` lists a GPU (or FORCE_CUDA=1), mmcv must have CUDA ops: the build finds an
# nvcc matching torch's CUDA (build_mmcv.sh --cuda-plan) or stops saying what to install, and an
# installed mmcv without CUDA ops is rebuilt. RESTV2_MMCV_OPS=cpu opts out.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${RESTV2_VENV:-$ROOT/.venv}"
CACHE="${RESTV2_CACHE:-$HOME/.cache/restv2-mm}"
PINS="$ROOT/requirements/pinned.txt"
PYTHON_BIN="${PYTHON:-python3.11}"
command -v "$PYTHON_BIN" >/dev/null || PYTHON_BIN=python3

pin() {  # pin NAME -> the requirement line for NAME in pinned.txt
    grep -E "^$1([=<>~!]|$)" "$PINS" | head -n1
}
log() { echo "[setup_env] $*"; }

if [ ! -x "$VENV/bin/python" ]; then
    log "creating $VENV with $($PYTHON_BIN --version)"
    "$PYTHON_BIN" -m venv "$VENV"
fi
PY="$VENV/bin/python"
PIP=("$PY" -m pip --disable-pip-version-check)
# Install only what is missing: a bare `pip install` of pinned names is already a no-op when they are
# present, but skipping it entirely saves ~20 s of resolution on every demo/test run.
STAMP="$VENV/.restv2_pins.sha"
want_sha="$(sha256sum "$PINS" "$ROOT/setup.py" | sha256sum | cut -c1-16)"
# Whether mmcv's compiled ops have CUDA kernels ('not available' in a CPU-only build).
MMCV_CUDA_OPS='import sys; from mmcv.ops import get_compiling_cuda_version as v; sys.exit(v() == "not available")'
gpu_visible() { [ "${RESTV2_MMCV_OPS:-}" != cpu ] && { [ "${FORCE_CUDA:-0}" = 1 ] || { command -v nvidia-smi >/dev/null && nvidia-smi -L 2>/dev/null | grep -q '^GPU'; }; }; }
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want_sha" ] && "$PY" -c "import mmcv.ops, mmdet, mmseg, mmpretrain, restv2_mm" 2>/dev/null \
        && { ! gpu_visible || "$PY" -c "$MMCV_CUDA_OPS" 2>/dev/null; }; then
    log "environment complete ($VENV)"
    exit 0
fi

"${PIP[@]}" install -q "$(pin setuptools)" "$(pin wheel)" "$(pin ninja)" "$(pin numpy)"
"${PIP[@]}" install -q "$(pin torch)" "$(pin torchvision)"

TORCH_VER="$("$PY" -c 'import torch; print(torch.__version__.split("+")[0])')"
MMCV_PIN="$(pin mmcv)"; MMCV_VER="${MMCV_PIN#mmcv==}"
PLAN="$(bash "$ROOT/tools/misc/build_mmcv.sh" --cuda-plan "$PY")"  # stops here, with its message
OPS="${PLAN%% *}"
if [ "$OPS" = cuda ]; then
    export FORCE_CUDA=1 CUDA_HOME="${PLAN#cuda }"
    export PATH="$CUDA_HOME/bin:$PATH"
    OPS="cuda$("$PY" -c 'import torch; print(torch.version.cuda)')"
    log "a GPU: mmcv's CUDA ops are built with $CUDA_HOME/bin/nvcc"
fi
WHEEL_DIR="$CACHE/mmcv-$MMCV_VER-torch$TORCH_VER-$OPS"

if "$PY" -c "import mmcv, mmcv.ops, sys; sys.exit(mmcv.__version__ != '$MMCV_VER')" 2>/dev/null \
        && { [ "$OPS" = cpu ] || "$PY" -c "$MMCV_CUDA_OPS"; }; then
    log "mmcv $MMCV_VER with ops already installed"
else
    [ "$OPS" = cpu ] || log "the installed mmcv has no CUDA ops: building one that has"
    WHEEL="$(bash "$ROOT/tools/misc/build_mmcv.sh" "$PY" "$MMCV_VER" "$WHEEL_DIR" c++20)"
    # --no-deps: mmcv's own requirements come with the pinned install below, which keeps mmengine pinned.
    "${PIP[@]}" install -q --no-deps --force-reinstall "$WHEEL"  # replaces a same-version mmcv without CUDA ops
fi

# Everything else, with mmcv pinned so pip never tries to replace the built wheel.
mapfile -t REST < <(grep -vE '^\s*(#|$)' "$PINS" | grep -vE '^(setuptools|wheel|ninja|torch|torchvision|mmcv)([=<>~!]|$)')
"${PIP[@]}" install -q "${REST[@]}" "$MMCV_PIN" "$(pin numpy)" "$(pin torch)"
"${PIP[@]}" install -q --no-deps --no-build-isolation -e "$ROOT"

"$PY" - <<'EOF'
import mmcv.ops, mmdet.models, mmseg.models, mmpretrain.models  # noqa: F401  (all four must import)
import torch, mmcv, mmdet, mmseg, mmpretrain, mmengine
print('[setup_env] torch %s, mmengine %s, mmcv %s (ops: CUDA %s), mmdet %s, mmseg %s, mmpretrain %s' % (
    torch.__version__, mmengine.__version__, mmcv.__version__, mmcv.ops.get_compiling_cuda_version(),
    mmdet.__version__, mmseg.__version__, mmpretrain.__version__))
EOF
echo "$want_sha" > "$STAMP"
log "done: activate with 'source $VENV/bin/activate'"
