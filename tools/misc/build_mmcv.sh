#!/usr/bin/env bash
# Print the path of an mmcv wheel with its compiled ops for one interpreter and its installed torch,
# building it from PyPI's source archive the first time (15-40 min on 2 cores). Used by setup_env.sh
# (the pinned stack) and setup_compat_env.sh (COMPAT_OPS=1, the oldest stack).
#
#   bash tools/misc/build_mmcv.sh PYTHON MMCV_VERSION WHEEL_DIR [CXX_STD]
#   bash tools/misc/build_mmcv.sh --cuda-plan PYTHON
#
# --cuda-plan prints which ops the build must have: `cpu`, or `cuda CUDA_HOME` with a toolkit whose
# nvcc has the major version of PYTHON's torch CUDA (torch's extension builder refuses another
# major; the same minor is preferred). CUDA ops are wanted where `nvidia-smi -L` lists a GPU or
# FORCE_CUDA=1 (a container build that sees no GPU); RESTV2_MMCV_OPS=cpu opts out. With a GPU and
# no such nvcc (pip's torch ships none) it exits 2 and says what to install. Toolkits are looked
# for in $CUDA_HOME, the nvcc on PATH and $RESTV2_CUDA_SEARCH (default /usr/local/cuda
# /usr/local/cuda-* /opt/cuda).
#
# WHEEL_DIR is the cache for one (mmcv, torch, ops) triple; it holds one wheel per Python tag (cp311,
# cp312, ...), so interpreters never pick up each other's extension modules. CXX_STD (e.g. c++20)
# replaces mmcv's own -std=c++17 (torch 2.14's headers need c++20; torch 2.1's take c++17).
# FORCE_CUDA and MAX_JOBS pass through the environment. Progress goes to stderr; stdout is the
# wheel's path only.
set -euo pipefail

cuda_plan() {  # cuda_plan PYTHON
    local py="$1" want home have best="" seen=""
    if [ "${RESTV2_MMCV_OPS:-}" = cpu ]; then echo cpu; return 0; fi
    if [ "${FORCE_CUDA:-0}" != 1 ] && ! { command -v nvidia-smi >/dev/null && nvidia-smi -L 2>/dev/null | grep -q '^GPU'; }; then
        echo cpu; return 0
    fi
    want="$("$py" -c 'import torch; print(torch.version.cuda or "")')"
    if [ -z "$want" ]; then
        echo "[build_mmcv] this machine has a GPU (or FORCE_CUDA=1), but the installed torch is a CPU-only build:" \
             "install torch's CUDA build (https://pytorch.org/get-started/locally/), or set RESTV2_MMCV_OPS=cpu" \
             "to build mmcv without CUDA ops (detectors then fail on the GPU)" >&2
        return 2
    fi
    local nvcc_home=""
    if command -v nvcc >/dev/null; then nvcc_home="$(dirname "$(dirname "$(command -v nvcc)")")"; fi
    # shellcheck disable=SC2086  # the search list is word-split and globbed on purpose
    for home in "${CUDA_HOME:-}" "$nvcc_home" ${RESTV2_CUDA_SEARCH:-/usr/local/cuda /usr/local/cuda-* /opt/cuda}; do
        [ -n "$home" ] && [ -x "$home/bin/nvcc" ] || continue
        have="$("$home/bin/nvcc" --version | sed -n 's/.*release \([0-9][0-9]*\.[0-9][0-9]*\).*/\1/p')"
        seen="$seen $home (CUDA $have)"
        if [ "$have" = "$want" ]; then echo "cuda $home"; return 0; fi
        if [ -z "$best" ] && [ "${have%%.*}" = "${want%%.*}" ]; then best="$home"; fi
    done
    if [ -n "$best" ]; then echo "cuda $best"; return 0; fi
    echo "[build_mmcv] this machine has a GPU (or FORCE_CUDA=1) and mmcv's CUDA ops must be compiled for" \
         "torch's CUDA $want, but no nvcc of CUDA ${want%%.*}.x was found (looked at:${seen:- none})." \
         "pip's torch ships no nvcc: install the CUDA $want toolkit (NVIDIA's installer or" \
         "'conda install -c nvidia cuda-toolkit=$want') and rerun with CUDA_HOME=<its folder>," \
         "or set RESTV2_MMCV_OPS=cpu to build without CUDA ops (detectors then fail on the GPU)." >&2
    return 2
}
if [ "${1:-}" = --cuda-plan ]; then
    cuda_plan "$2"
    exit $?
fi

PY="$1"; VERSION="$2"; WHEEL_DIR="$3"; CXX_STD="${4:-}"
log() { echo "[build_mmcv] $*" >&2; }
PIP=("$PY" -m pip --disable-pip-version-check)
TAG="$("$PY" -c 'import sys; print("cp%d%d" % sys.version_info[:2])')"

found() { ls "$WHEEL_DIR"/mmcv-"$VERSION"-"$TAG"-*.whl 2>/dev/null | head -n1; }
wheel="$(found || true)"
if [ -n "$wheel" ]; then
    log "reusing $wheel"
    echo "$wheel"
    exit 0
fi

TORCH_VER="$("$PY" -c 'import torch; print(torch.__version__)')"
log "building mmcv $VERSION ($TAG, torch $TORCH_VER); cached in $WHEEL_DIR"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"${PIP[@]}" download -q --no-deps --no-binary :all: "mmcv==$VERSION" -d "$tmp"
tar -xzf "$tmp"/mmcv-*.tar.gz -C "$tmp"
src="$(ls -d "$tmp"/mmcv-*/)"
if [ -n "$CXX_STD" ]; then
    sed -i "s/-std=c++17/-std=$CXX_STD/g" "$src/setup.py"
    grep -q -- "-std=$CXX_STD" "$src/setup.py" || { log "mmcv setup.py: no -std flag patched"; exit 1; }
fi
start=$(date +%s)
(cd "$src" && MMCV_WITH_OPS=1 FORCE_CUDA="${FORCE_CUDA:-0}" MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
    "${PIP[@]}" wheel -q --no-build-isolation --no-deps -w "$tmp/out" . >&2)
# Publish only a complete wheel, by a rename on the cache's file system: an interrupted build is
# never reused.
mkdir -p "$WHEEL_DIR"
built="$(ls "$tmp"/out/mmcv-*.whl)"
cp "$built" "$WHEEL_DIR/.partial-$(basename "$built")"
mv "$WHEEL_DIR/.partial-$(basename "$built")" "$WHEEL_DIR/$(basename "$built")"
log "mmcv built in $(( $(date +%s) - start )) s"
found
