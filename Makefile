# electrode-twin: `make demo` and `make test` set everything up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
export NUMBA_CACHE_DIR ?= $(CURDIR)/.numba_cache
# pytest processes of `make test` (pytest-xdist; each runs numba on one thread, whole test files
# per process so module fixtures are computed once): one per core of the 2-core CI machine
TEST_WORKERS ?= 2

.PHONY: venv demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	# torch first: the CPU wheel on this machine; otherwise pip pulls the CUDA build.
	$(PY) -m pip install torch==2.13.0
	echo "torch==2.13.0" > $(VENV)/constraints.txt
	$(PY) -m pip install -c $(VENV)/constraints.txt -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/etwin demo

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

lint: $(STAMP)
	$(VENV)/bin/ruff check .

bench: $(STAMP)
	$(PY) benchmarks/engine.py
	$(PY) benchmarks/slurry.py
	$(PY) benchmarks/calender.py
	$(PY) benchmarks/transport.py
	$(PY) benchmarks/cell.py

clean:
	rm -rf $(VENV) .numba_cache .pytest_cache build *.egg-info
