# Two commands on a fresh machine: `make demo` and `make test`.
# Both create .venv (Python 3.11: pythia8mc 8.317.2 and torch 2.13.0 CPU have wheels for it).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: demo test test-fast bench lint clean install

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch pinned first: an unpinned torch would pull gigabytes of CUDA packages
	$(PY) -m pip install --quiet "torch==2.13.0" "pythia8mc==8.317.2"
	$(PY) -m pip install --quiet -e ".[generate,train,test]"
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/coffea-anomaly demo

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

# without the tests marked slow (Pythia generation, training, long scans)
test-fast: $(STAMP)
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) -m benchmarks

lint: $(STAMP)
	$(PY) -m pip install --quiet ruff
	$(VENV)/bin/ruff check coffea_anomaly processors tests benchmarks

clean:
	rm -rf $(VENV) results .pytest_cache
