#!/usr/bin/env bash
# The first command on a GPU machine (docs/benchmark_gpu.md): the GPU self-check, then the
# benchmark's GPU rows, both kept in OUT_DIR (default work_dirs/gpu_check).
#
#   bash tools/misc/gpu_check.sh [OUT_DIR]
#
# 1. python -m restv2_mm.cli.collect_env --gpu-check: the environment report, training steps of
#    ResTv2-T and RMT-T in fp32/bf16/fp16 against float64 on the CPU (under
#    torch.cuda.set_sync_debug_mode('error')), RMT's masked SDPA through each backend at L = 49,
#    196, 576, and mmcv's roi_align and nms on CUDA -> gpu_check.txt, gpu_check.json.
# 2. tools/analysis_tools/benchmark.py --device cuda: latency and memory rows -> benchmark_gpu.md,
#    benchmark_gpu.json.
# Exits non-zero if a check row failed (the benchmark still runs).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT="${1:-work_dirs/gpu_check}"
PY="${PYTHON:-python}"
mkdir -p "$OUT"
PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" "$PY" -m restv2_mm.cli.collect_env --gpu-check \
    --out "$OUT/gpu_check.json" 2>&1 | tee "$OUT/gpu_check.txt"
status=${PIPESTATUS[0]}
PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" "$PY" "$ROOT/tools/analysis_tools/benchmark.py" \
    --device cuda --suites train rmt models --dtypes fp32 bf16 \
    --out "$OUT/benchmark_gpu.md" "$OUT/benchmark_gpu.json" 2>&1 | tee "$OUT/benchmark.txt"
echo "[gpu_check] results in $OUT (check status $status)"
exit "$status"
