# The Rust core: core/ (crate connect-dynamodb-core) and core/runtime/ (the process-local
# runtime the C and Python faces share), and the workspace-wide Rust checks.

.PHONY: test-rust test-rust-suite lint-rust lint-version

# The core's optional features that the tests, clippy and the docs cover. The faces never turn
# them on (their builds, and the dist builds, compile the core without them); naming them on
# every workspace build of the tests keeps one feature set, so `make test` compiles the
# workspace once.
RUST_FEATURES := --features connect-dynamodb-core/tower-sessions

test-rust: ## Run only the Rust tests (against a fresh DynamoDB Local)
	$(CARGO) build --workspace --tests $(RUST_FEATURES)
	$(DYNAMODB_LOCAL) run -- $(MAKE) --no-print-directory test-rust-suite

test-rust-suite: # The Rust suites of every crate, run inside DynamoDB Local's lifetime
	$(CARGO) test --workspace $(RUST_FEATURES)

lint-rust: lint-version ## rustfmt and clippy over the whole workspace
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets $(RUST_FEATURES) -- -D warnings

lint-version: ## Check that the npm package, the wheel and the C library carry the one version
	scripts/check-version.sh
