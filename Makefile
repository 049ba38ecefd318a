# connect-dynamodb: the one entry point for people and CI. `make help` lists the targets.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

CARGO ?= cargo
DYNAMODB_LOCAL := scripts/dynamodb-local.sh

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-16s %s\n", $$1, $$2}'

.PHONY: build
build: ## Build everything that exists for local use (today: the Rust core)
	$(CARGO) build --workspace --all-targets

.PHONY: test
test: ## Build and run every test suite against a fresh DynamoDB Local (fetched on first use)
	$(CARGO) build --workspace --tests
	$(DYNAMODB_LOCAL) run -- $(CARGO) test --workspace

.PHONY: lint
lint: ## Check formatting and run clippy with warnings as errors
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

.PHONY: fmt
fmt: ## Format the code
	$(CARGO) fmt --all

.PHONY: doc
doc: ## Build the Rust API documentation
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --workspace --no-deps

.PHONY: dynamodb-local
dynamodb-local: ## Fetch DynamoDB Local 3.3.1 into .cache/ (make test does this on its own)
	$(DYNAMODB_LOCAL) fetch

.PHONY: clean
clean: ## Remove build output and the DynamoDB Local cache
	$(CARGO) clean
	rm -rf .cache
