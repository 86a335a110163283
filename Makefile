# The two commands of README.md. Each first installs what is missing (tools/setup_env.sh).
PY := .venv/bin/python

.PHONY: env demo test
env:
	bash tools/setup_env.sh
demo: env
	bash tools/run_demo.sh
test: env
	$(PY) -m pytest tests
