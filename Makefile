# aframe developer and user entry points.  `make quickstart` and `make test`
# are the two commands a newcomer needs; both install first.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# the experiment directory the quickstart writes and runs
QUICKSTART_DIR ?= quickstart-run
STAMP := $(VENV)/.aframe-installed
UV := $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
LOCK_EXTRAS := --extra tune --extra online --extra glitches --extra dev
# the Triton server's environment (requirements-triton.in says why)
TRITON_VENV ?= .venv-triton
TRITON_STAMP := $(TRITON_VENV)/.aframe-installed
# the MLGWSC-1 challenge's own environment (requirements-mlgwsc.in says why)
MLGWSC_VENV ?= .venv-mlgwsc
MLGWSC_STAMP := $(MLGWSC_VENV)/.aframe-installed

.PHONY: install triton-env mlgwsc-env quickstart test lint lock \
	clean-quickstart docs

install: $(STAMP)

# the venv is rebuilt only when the lock or the project metadata change,
# so a second `make install` is a no-op
$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -m uv --version >/dev/null 2>&1 || command -v uv >/dev/null \
		|| $(PYTHON) -m pip install --quiet uv
	@test -x $(BIN)/python || $(UV) venv --quiet --python $(PYTHON) $(VENV)
	$(UV) pip sync --compile-bytecode --python $(BIN)/python requirements.lock
	$(UV) pip install --quiet --python $(BIN)/python --no-deps -e .
	@touch $@

triton-env: $(TRITON_STAMP)

$(TRITON_STAMP): requirements-triton.lock
	@test -x $(TRITON_VENV)/bin/python \
		|| $(UV) venv --quiet --python $(PYTHON) $(TRITON_VENV)
	$(UV) pip sync --python $(TRITON_VENV)/bin/python requirements-triton.lock
	@touch $@

mlgwsc-env: $(MLGWSC_STAMP)

$(MLGWSC_STAMP): requirements-mlgwsc.lock
	@test -x $(MLGWSC_VENV)/bin/python \
		|| $(UV) venv --quiet --python $(PYTHON) $(MLGWSC_VENV)
	$(UV) pip sync --python $(MLGWSC_VENV)/bin/python requirements-mlgwsc.lock
	@touch $@

quickstart: install
	@test -f $(QUICKSTART_DIR)/run.sh || $(BIN)/aframe-init offline \
		--mode sandbox --preset quickstart --directory $(QUICKSTART_DIR)
	bash $(QUICKSTART_DIR)/run.sh
	@echo "the run's report: $(abspath $(QUICKSTART_DIR))/results/report.html"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# the triton-marked tests serve the exported repository with a real server;
# the mlgwsc-marked ones run the challenge's generator and evaluate.py
test: lint triton-env mlgwsc-env
	$(BIN)/python -m pytest

lock:
	$(UV) pip compile pyproject.toml $(LOCK_EXTRAS) --generate-hashes \
		--override requirements-overrides.txt \
		--python-version 3.11 --python-platform x86_64-manylinux_2_28 \
		--output-file requirements.lock
	$(UV) pip compile requirements-triton.in --generate-hashes \
		--python-version 3.11 --python-platform x86_64-manylinux_2_35 \
		--output-file requirements-triton.lock
	$(UV) pip compile requirements-mlgwsc.in --generate-hashes \
		--python-version 3.11 --python-platform x86_64-manylinux_2_28 \
		--output-file requirements-mlgwsc.lock

clean-quickstart:
	rm -rf $(QUICKSTART_DIR)

# the documentation, warnings as errors; open docs/_build/html/index.html
docs: install
	$(BIN)/sphinx-build -W --keep-going -b html docs docs/_build/html
