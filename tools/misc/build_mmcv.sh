#!/usr/bin/env bash
# Print the path of an mmcv wheel with its compiled ops for one interpreter and its installed torch,
# building it from PyPI's source archive the first time (15-40 min on 2 cores). Used by setup_env.sh
# (the pinned stack) and setup_compat_env.sh (COMPAT_OPS=1, the oldest stack).
#
#   bash tools/misc/build_mmcv.sh PYTHON MMCV_VERSION WHEEL_DIR [CXX_STD]
#
# WHEEL_DIR is the cache for one (mmcv, torch, ops) triple; it holds one wheel per Python tag (cp311,
# cp312, ...), so interpreters never pick up each other's extension modules. CXX_STD (e.g. c++20)
# replaces mmcv's own -std=c++17 (torch 2.14's headers need c++20; torch 2.1's take c++17).
# FORCE_CUDA and MAX_JOBS pass through the environment. Progress goes to stderr; stdout is the
# wheel's path only.
set -euo pipefail

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
