# The Python face: bindings-python/ (crate connect-dynamodb-python, package connect_dynamodb).
#
# The wheel is built by maturin from the workspace (same target directory and
# CARGO_BUILD_TARGET as every other build, so the AWS SDK is compiled once) and installed into
# a virtual environment in the git-ignored .cache/, created with the machine's python3 and
# filled from bindings-python/requirements-dev.txt (pinned) once per change of that file.

PY_DIR := bindings-python
PY_VENV := .cache/python-venv
PY := $(PY_VENV)/bin/python
PY_STAMP := $(PY_VENV)/.requirements-dev.stamp
PY_WHEELS := .cache/python-wheels
PYTHON3 ?= python3

$(PY_STAMP): $(PY_DIR)/requirements-dev.txt
	test -x $(PY) || $(PYTHON3) -m venv $(PY_VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r $<
	touch $@

.PHONY: python-venv python-build test-python test-python-suite bench-python lint-python
python-venv: $(PY_STAMP) # The virtual environment with the pinned development dependencies

python-build: $(PY_STAMP) ## Build the Python wheel and install it into the test virtual environment
	rm -rf $(PY_WHEELS)
	$(PY_VENV)/bin/maturin build --manifest-path $(PY_DIR)/Cargo.toml \
		--target $(CARGO_BUILD_TARGET) --interpreter $(PY) --out $(PY_WHEELS)
	$(PY) -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps \
		$(PY_WHEELS)/connect_dynamodb-*.whl

test-python: python-build ## Run only the Python tests (against a fresh DynamoDB Local)
	$(DYNAMODB_LOCAL) run -- $(MAKE) --no-print-directory test-python-suite

test-python-suite: # The Python suite, run inside DynamoDB Local's lifetime
	cd $(PY_DIR) && ../$(PY) -m pytest tests

bench-python: python-venv ## Benchmark the Python integrations (Flask, Django, Starlette) and memory
	$(PY_DIR)/bench/bench.sh

lint-python: python-build ## ruff and the stub check for the Python package
	cd $(PY_DIR) && ../$(PY_VENV)/bin/ruff check .
	cd $(PY_DIR) && ../$(PY_VENV)/bin/ruff format --check .
	MYPY_CACHE_DIR=.cache/mypy $(PY) -m mypy.stubtest connect_dynamodb._native connect_dynamodb.exceptions
