# connect-dynamodb: the one entry point for people and CI. `make help` lists the targets.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

CARGO ?= cargo
DYNAMODB_LOCAL := scripts/dynamodb-local.sh

# Every cargo build names the target, as napi's build does: with one target directory for all
# of them, building the addon after the core's tests does not recompile the AWS SDK.
export CARGO_BUILD_TARGET ?= $(shell rustc -vV | sed -n 's/^host: //p')

# Each part keeps its targets in mk/: the Rust core (core/): test-rust, lint-rust,
# lint-version; the Node face (bindings-node/): node-build, test-node, lint-node; the Python
# face (bindings-python/): python-build, test-python, bench-python, lint-python; the C face
# (ffi/, include/): c-build, test-c, lint-c, header, install; the release artifacts (dist/):
# dist, dist-check, dist-ci.
include mk/rust.mk mk/node.mk mk/python.mk mk/c.mk mk/dist.mk

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-16s %s\n", $$1, $$2}'

.PHONY: build
build: node-build python-build c-build ## Build everything for local use: the core, the Node addon, the Python wheel, the C library
	$(CARGO) build --workspace --tests $(RUST_FEATURES)

.PHONY: demo
demo: node-build ## Serve the example app at http://localhost:3000 on a fresh DynamoDB Local (Ctrl-C stops both)
	scripts/demo.sh

.PHONY: test
test: build ## Build and run every test suite against a fresh DynamoDB Local (fetched on first use)
	scripts/install-chromium.sh
	$(DYNAMODB_LOCAL) run -- $(MAKE) --no-print-directory test-suites

.PHONY: test-suites
test-suites: # The suites, run by `make test` inside DynamoDB Local's lifetime
	$(MAKE) --no-print-directory test-rust-suite test-node-suite test-python-suite test-c-suite

# `make bench` writes its results here (one JSON file per bench) and generates BENCHMARKS.md and
# the plots in benchmarks/ from them; set BENCH_OUT to write the results elsewhere.
BENCH_RESULTS := $(CURDIR)/benchmarks/results
# The Rust benches: core/examples/<name>.rs, release builds.
RUST_BENCHES := sdk_overhead_bench at_rest_bench memory_bench
RUST_BENCH_DIR := target/$(CARGO_BUILD_TARGET)/release/examples

.PHONY: bench bench-rust bench-rust-suite bench-report
bench: export BENCH_OUT ?= $(BENCH_RESULTS)
bench: node-deps ## Run every benchmark on DynamoDB Local (release builds): Node against connect-redis and connect-dynamodb 3.0.5, Python against Flask-Session, the core against the bare AWS SDK, the at-rest options, each face's memory; JSON results into benchmarks/results, then BENCHMARKS.md and its plots
	mkdir -p "$$BENCH_OUT"
	scripts/bench.sh
	$(MAKE) --no-print-directory bench-python
	$(MAKE) --no-print-directory bench-rust
	$(MAKE) --no-print-directory bench-c
	python3 scripts/bench-report.py "$$BENCH_OUT"

bench-rust: ## Run only the Rust benches (the core against the bare AWS SDK, the at-rest options, memory) on a fresh DynamoDB Local; results into BENCH_OUT when set
	$(CARGO) build --release -q -p connect-dynamodb-core --examples
	$(DYNAMODB_LOCAL) run -- $(MAKE) --no-print-directory bench-rust-suite

bench-rust-suite: # The Rust benches, run by `make bench-rust` inside DynamoDB Local's lifetime
	for bench in $(RUST_BENCHES); do $(RUST_BENCH_DIR)/$$bench || exit $$?; done

.PHONY: profile
profile: export BENCH_OUT ?= $(BENCH_RESULTS)
profile: python-venv ## Profile where a store call's CPU goes (Linux perf; release builds): the core's get and set, and a Flask, Django and Starlette request by step, 1 KB and 50 KB; results into benchmarks/results, then BENCHMARKS.md
	$(CARGO) build --release -q -p connect-dynamodb-core --examples
	PROFILE_EXAMPLE=$(RUST_BENCH_DIR)/call_profile $(DYNAMODB_LOCAL) run -- python3 scripts/profile.py core
	$(PY_DIR)/bench/bench.sh --profile
	python3 scripts/bench-report.py "$$BENCH_OUT"

bench-report: ## Regenerate BENCHMARKS.md and the plots in benchmarks/ from benchmarks/results (or BENCH_OUT)
	python3 scripts/bench-report.py $(if $(BENCH_OUT),"$(BENCH_OUT)",)

.PHONY: lint
lint: lint-rust lint-node lint-python lint-c ## Check formatting, clippy, biome, ruff, the one version and the generated bindings and header

.PHONY: fmt
fmt: node-deps ## Format the code (Rust and JavaScript)
	$(CARGO) fmt --all
	cd $(NODE_DIR) && npx --no-install biome check --write .

.PHONY: doc
doc: ## Build the Rust API documentation
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --workspace --no-deps $(RUST_FEATURES)

.PHONY: dynamodb-local
dynamodb-local: ## Fetch DynamoDB Local 3.3.1 into .cache/ (make test does this on its own)
	$(DYNAMODB_LOCAL) fetch

.PHONY: clean
clean: ## Remove build output (dist/ included), installed Node modules and the caches (DynamoDB Local, the release tools, the arm64 root)
	$(CARGO) clean
	rm -rf .cache dist $(NODE_DIR)/node_modules $(NODE_DIR)/*.node
