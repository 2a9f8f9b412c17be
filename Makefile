# One-command entry points for a fresh clone. Override TORCH to pick another build,
# e.g. `make test TORCH='torch --index-url https://download.pytorch.org/whl/cpu'`.
VENV  ?= .venv
PY    := $(VENV)/bin/python
TORCH ?= torch==2.13.0

.PHONY: setup test run lint bench clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH)
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

setup: $(VENV)/.installed

test: setup  ## set up and run the test suite (what CI runs): one pytest-xdist worker a core
	$(PY) -m pytest -q -n auto --dist loadgroup --durations=15

run: setup  ## set up and run the default search (cnn space on MNIST-1D, offline)
	$(VENV)/bin/nas search

lint: setup
	$(VENV)/bin/ruff check .

bench: setup
	$(PY) bench/compile_overhead.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
