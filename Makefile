# The two commands of README.md (demo, test) and the other tasks' demos. Each first installs what
# is missing (tools/misc/setup_env.sh). Data: $RESTV2_DATA, default ../shared/data next to the repo.
PY := .venv/bin/python
# Keep large allocations mapped between steps (glibc otherwise unmaps and page-faults them back).
export MALLOC_MMAP_THRESHOLD_ ?= 4294967296
export MALLOC_TRIM_THRESHOLD_ ?= 4294967296

.PHONY: env env-compat test-compat demo test test-fast test-deploy lint demo-seg demo-camvid demo-cls demo-rmt demo-deploy \
	benchmark matrix
env:
	bash tools/misc/setup_env.sh
# The oldest supported stack (requirements/compat.txt: torch 2.1.2, mmcv-lite 2.1.0) in .venv-compat,
# and the fast tests that run there (with the fresh-interpreter `compat` checks): models, ops, safe
# loading, the self-check. Tests of mmdet/mmseg
# models skip (mmcv-lite has no compiled ops). See docs/get_started.md, "Supported versions".
# Another Python: make test-compat COMPAT_PYTHON=/path/to/python3.10 COMPAT_VENV=.venv-compat-py310
# The full mmcv 2.1.0 built with its ops instead of mmcv-lite, so the mmdet/mmseg model tests run too:
# make test-compat COMPAT_OPS=1 COMPAT_VENV=.venv-compat-ops
COMPAT_PYTHON ?= python3.11
COMPAT_VENV ?= .venv-compat
COMPAT_OPS ?= 0
COMPAT_PY := $(COMPAT_VENV)/bin/python
COMPAT_TESTS := tests/test_models tests/test_ops tests/test_utils tests/test_tools/test_safe_loading.py \
	tests/test_cli/test_collect_env.py tests/test_tools/test_package.py
env-compat:
	PYTHON=$(COMPAT_PYTHON) RESTV2_COMPAT_VENV=$(abspath $(COMPAT_VENV)) COMPAT_OPS=$(COMPAT_OPS) \
	    bash tools/misc/setup_compat_env.sh
test-compat: env-compat
	PYTHONPATH=$(CURDIR) $(COMPAT_PY) -m pytest $(COMPAT_TESTS) -m "not slow or compat"
demo: env
	bash tools/misc/run_demo.sh
# Lint (ruff) and the layering contract (import-linter, pyproject.toml) run before the tests.
lint: env
	.venv/bin/ruff check .
	.venv/bin/lint-imports
# The tests run in TEST_WORKERS processes (pytest-xdist); each file's tests stay in one of them.
TEST_WORKERS ?= 2
test: lint
	$(PY) -m pytest tests -m "not deploy_sweep" -n $(TEST_WORKERS) --dist loadfile
test-fast: lint
	$(PY) -m pytest tests -m "not slow and not deploy_sweep" -n $(TEST_WORKERS) --dist loadfile
# The wider ONNX export sweep (marker deploy_sweep), kept out of `make test`'s time budget.
test-deploy: lint
	$(PY) -m pytest tests -m deploy_sweep -n $(TEST_WORKERS) --dist loadfile
demo-seg: env
	$(PY) tools/train.py configs/mmseg/demo/upernet_restv2_t_ade_mini.py --work-dir work_dirs/demo_ade
	$(PY) tools/misc/predict.py configs/mmseg/demo/upernet_restv2_t_ade_mini.py work_dirs/demo_ade/iter_40.pth \
	    $${RESTV2_DATA:-../shared/data}/ade_mini/images/validation/ADE_val_00000001.jpg --out work_dirs/demo_ade/prediction.png
	$(PY) tools/analysis_tools/summarize_runs.py work_dirs/demo_ade --out work_dirs/demo_ade/summary.json
demo-camvid: env
	$(PY) tools/train.py configs/mmseg/demo/upernet_restv2_t_camvid_mini.py --work-dir work_dirs/demo_camvid
	$(PY) tools/analysis_tools/summarize_runs.py work_dirs/demo_camvid
demo-cls: env
	$(PY) tools/train.py configs/mmpretrain/demo/restv2_t_imagenet_mini.py --work-dir work_dirs/demo_imagenet
	$(PY) tools/analysis_tools/summarize_runs.py work_dirs/demo_imagenet --out work_dirs/demo_imagenet/summary.json
demo-rmt: env
	$(PY) tools/train.py configs/mmdet/demo/mask_rcnn_rmt_t_coco_mini.py --work-dir work_dirs/demo_rmt
	$(PY) tools/analysis_tools/summarize_runs.py work_dirs/demo_rmt
# The demo's Mask R-CNN (trained by `make demo`, or here where its checkpoint is missing) exported
# to one ONNX file, and the file's predictions on four demo validation images drawn beside
# PyTorch's, with their comparison (docs/deployment.md): $(DEMO_DIR)/deploy/.
DEMO_DIR ?= work_dirs/demo
DEMO_DET := configs/mmdet/demo/mask_rcnn_restv2_t_coco_mini.py
demo-deploy: env
	[ -f $(DEMO_DIR)/coco_mini/iter_60.pth ] || $(PY) tools/train.py $(DEMO_DET) --work-dir $(DEMO_DIR)/coco_mini
	$(PY) tools/deployment/pytorch2onnx.py $(DEMO_DET) $(DEMO_DIR)/coco_mini/iter_60.pth \
	    --out $(DEMO_DIR)/deploy/mask_rcnn.onnx --dynamic
	$(PY) tools/deployment/onnx_inference.py $(DEMO_DIR)/deploy/mask_rcnn.onnx \
	    $$(ls $${RESTV2_DATA:-../shared/data}/coco_mini/val2017/*.jpg | head -n 4) --out $(DEMO_DIR)/deploy \
	    --score-thr 0.05 --pytorch $(DEMO_DET) $(DEMO_DIR)/coco_mini/iter_60.pth
benchmark: env
	$(PY) tools/analysis_tools/benchmark.py --suites reference models styles --repeat 5 --warmup 1 \
		--out docs/benchmark_cpu.md docs/benchmark_cpu.json
# Every mmdet / mmseg config family with ResTv2-T and RMT-T swapped in (docs/compatibility.md): the
# entries not yet in the record, niced, MATRIX_JOBS at a time (one thread and up to ~2.5 GB
# each; hours on 2 cores); then the page's and README's tables.
MATRIX_JOBS ?= 2
matrix: env
	nice -n 10 $(PY) tools/analysis_tools/compat_matrix.py --out docs/compatibility.json --jobs $(MATRIX_JOBS)
	$(PY) tests/test_docs/test_tables.py
