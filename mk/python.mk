# The Python face: bindings-python/ (crate connect-dynamodb-python, package connect_dynamodb).

.PHONY: python-build test-python test-python-suite bench-python lint-python
python-build: ## Build the Python wheel and install it into the test virtual environment
test-python: ## Run only the Python tests (against a fresh DynamoDB Local)
test-python-suite: # The Python suite, run inside DynamoDB Local's lifetime
bench-python: ## Benchmark the Python store against Flask-Session's DynamoDB backend
lint-python: ## ruff and the stub check for the Python package
