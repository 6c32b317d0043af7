# vis4d: the two set-up commands are `make demo` and `make test` (see README).
# Both create .venv if it is missing (then `source .venv/bin/activate` once per shell puts
# python3 with vis4d and the vis4d command on PATH). torch/torchvision are installed first with
# pip from this machine's local wheels (uv/poetry would download gigabytes).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
TORCH_PINS := torch==2.14.1 torchvision==0.29.1

.PHONY: demo test lint venv venv-test clean

$(VENV)/.base: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q $(TORCH_PINS) || $(PIP) install -q torch torchvision
	$(PIP) install -q -e .
	touch $@

$(VENV)/.test: $(VENV)/.base
	$(PIP) install -q -e '.[test]'
	touch $@

venv: $(VENV)/.base
venv-test: $(VENV)/.test

demo: venv
	$(PY) scripts/demo.py $(DEMO_ARGS)

# PYTHONDONTWRITEBYTECODE= : the suite's processes (2 workers, fork servers, DDP ranks, the demo) share the
# compiled tests and package through __pycache__ even where the environment turns bytecode writing off; that
# alone makes each worker's collection 5 s shorter.
test: venv-test
	PYTHONDONTWRITEBYTECODE= $(PY) -m pytest -q -n auto --dist worksteal tests

lint: venv-test
	$(PY) -m ruff check vis4d tests scripts benchmarks
	$(PY) -m mypy vis4d

clean:
	rm -rf $(VENV) vis4d-workspace
