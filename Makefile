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

.PHONY: bench
bench: node-deps ## Benchmark against connect-dynamodb 3.0.5 and Flask-Session on DynamoDB Local, and the CPU and capacity of the at-rest options (release builds); prints medians and ratios
	scripts/bench.sh
	$(MAKE) --no-print-directory bench-python
	$(DYNAMODB_LOCAL) run -- $(CARGO) run --release -q -p connect-dynamodb-core --example at_rest_bench

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
