# The C face: ffi/ (crate connect-dynamodb-ffi) and include/connect_dynamodb.h.

.PHONY: c-build test-c test-c-suite lint-c header install
c-build: ## Build libconnect_dynamodb.so and .a
test-c: ## Run only the C tests (against a fresh DynamoDB Local)
test-c-suite: # The C suite, run inside DynamoDB Local's lifetime
lint-c: ## Check that include/connect_dynamodb.h matches a fresh cbindgen run
header: ## Regenerate include/connect_dynamodb.h with the pinned cbindgen
install: ## Install the C library, header and pkg-config file under PREFIX (default /usr/local)
