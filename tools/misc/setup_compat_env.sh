#!/usr/bin/env bash
# Create (or complete) the oldest supported environment in .venv-compat from Python 3.11:
# torch 2.1.2 with the prebuilt mmcv-lite 2.1.0 (no compiled ops), the stack many OpenMMLab users
# already have. Versions: requirements/compat.txt.
#
#   bash tools/misc/setup_compat_env.sh     # idempotent: installs only what is missing
#
# torch 2.1.2 comes from PyPI (its CUDA build and the nvidia-* wheels, ~2.5 GB, downloaded once and
# kept in $RESTV2_CACHE/compat-wheels). mmdet and mmseg are installed, but their models need mmcv's
# compiled ops, so the tests that build them skip there (see docs/get_started.md, "Supported versions").
#
#   COMPAT_OPS=1 bash tools/misc/setup_compat_env.sh   # the full mmcv 2.1.0 with its CPU ops instead
#
# builds mmcv 2.1.0 from source against torch 2.1.2 once (its own C++17 flags suit torch 2.1's
# headers; about 20 min on 2 cores), cached in $RESTV2_CACHE like the pinned build, so that the
# mmdet and mmseg models run on the oldest stack too. Use its own venv (COMPAT_VENV in the Makefile).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${RESTV2_COMPAT_VENV:-$ROOT/.venv-compat}"
CACHE="${RESTV2_CACHE:-$HOME/.cache/restv2-mm}"
PINS="$ROOT/requirements/compat.txt"
PYTHON_BIN="${PYTHON:-python3.11}"
command -v "$PYTHON_BIN" >/dev/null || PYTHON_BIN=python3
log() { echo "[setup_compat_env] $*"; }

if [ ! -x "$VENV/bin/python" ]; then
    log "creating $VENV with $($PYTHON_BIN --version)"
    "$PYTHON_BIN" -m venv "$VENV"
fi
PY="$VENV/bin/python"
PIP=("$PY" -m pip --disable-pip-version-check)
STAMP="$VENV/.restv2_pins.sha"
want_sha="$(sha256sum "$PINS" "$ROOT/setup.py" | sha256sum | cut -c1-16)"
want_sha="$want_sha-ops${COMPAT_OPS:-0}"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want_sha" ] && "$PY" -c "import mmpretrain, restv2_mm" 2>/dev/null; then
    log "environment complete ($VENV)"
    exit 0
fi

# Every pin doubles as a constraint, so no dependency moves torch, numpy or mmengine.
CONSTRAINTS="$(mktemp)"
trap 'rm -f "$CONSTRAINTS"' EXIT
grep -vE '^\s*(#|$)' "$PINS" > "$CONSTRAINTS"
WHEELS="$CACHE/compat-wheels"
mkdir -p "$WHEELS"
"${PIP[@]}" install -q "$(grep -E '^setuptools' "$PINS")" wheel
if [ "${COMPAT_OPS:-0}" = "1" ]; then  # the full mmcv, built below, instead of mmcv-lite
    sed -i '/^mmcv-lite==/d' "$CONSTRAINTS"
fi
mapfile -t ALL < "$CONSTRAINTS"
# Download once into the cache (torch's CUDA wheels are large), then install from it.
"${PIP[@]}" download -q -c "$CONSTRAINTS" -d "$WHEELS" "${ALL[@]}"
"${PIP[@]}" install -q -c "$CONSTRAINTS" --find-links "$WHEELS" "${ALL[@]}"
if [ "${COMPAT_OPS:-0}" = "1" ]; then
    TORCH_VER="$("$PY" -c 'import torch; print(torch.__version__.split("+")[0])')"
    MMCV_VER="$(grep -E '^mmcv-lite==' "$PINS" | cut -d= -f3)"
    OPS_DIR="$CACHE/mmcv-$MMCV_VER-torch$TORCH_VER-cpu"
    WHEEL="$(FORCE_CUDA=0 bash "$ROOT/tools/misc/build_mmcv.sh" "$PY" "$MMCV_VER" "$OPS_DIR")"
    # mmcv and mmcv-lite install the same `mmcv` package: one replaces the other.
    "${PIP[@]}" uninstall -q -y mmcv-lite 2>/dev/null || true
    "${PIP[@]}" install -q --no-deps --force-reinstall "$WHEEL"
fi
"${PIP[@]}" install -q --no-deps --no-build-isolation -e "$ROOT"

"$PY" - <<'EOF'
import mmpretrain.models  # noqa: F401  (runs on mmcv-lite)
import torch, mmcv, mmdet, mmseg, mmpretrain, mmengine, numpy
try:
    import mmcv.ops  # noqa: F401
    ops = 'with ops'
except ImportError:
    ops = 'without compiled ops'
print('[setup_compat_env] torch %s, numpy %s, mmengine %s, mmcv %s (%s), mmdet %s, mmseg %s, '
      'mmpretrain %s' % (torch.__version__, numpy.__version__, mmengine.__version__,
                         mmcv.__version__, ops, mmdet.__version__, mmseg.__version__,
                         mmpretrain.__version__))
EOF
echo "$want_sha" > "$STAMP"
log "done: run the compat tests with 'make test-compat'"
