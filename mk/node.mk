# The Node face: bindings-node/ (crate connect-dynamodb-node, npm package connect-dynamodb).
#
# The addon is built by napi from the workspace (same target directory and CARGO_BUILD_TARGET
# as every other build); its generated loader and types (native.js, native.d.ts) are committed
# and checked against a fresh build by lint-node. Dependencies come from package-lock.json.

NODE_DIR := bindings-node
NAPI := cd $(NODE_DIR) && npx --no-install napi

.PHONY: node-deps node-build test-node test-node-suite lint-node
node-deps: $(NODE_DIR)/node_modules/.package-lock.json ## Install the Node package's dependencies (npm ci)

$(NODE_DIR)/node_modules/.package-lock.json: $(NODE_DIR)/package-lock.json
	cd $(NODE_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

node-build: node-deps ## Build the Node addon (debug) and its generated bindings
	$(NAPI) build --platform --js native.js --dts native.d.ts

test-node: node-build ## Run only the Node tests (against a fresh DynamoDB Local; the demo's needs chromium)
	scripts/install-chromium.sh
	$(DYNAMODB_LOCAL) run -- $(MAKE) --no-print-directory test-node-suite

test-node-suite: # The Node suite, run inside DynamoDB Local's lifetime: node:test, then the type tests
	cd $(NODE_DIR) && node --test --test-concurrency=1 --test-timeout=120000 test/*.test.js
	cd $(NODE_DIR) && npx --no-install tsc -p test/tsconfig.json

lint-node: node-build ## biome, clippy of the addon, and the committed native.js/native.d.ts against a fresh build
	cd $(NODE_DIR) && npx --no-install biome ci --error-on-warnings .
	$(CARGO) clippy -p connect-dynamodb-node --all-targets -- -D warnings
	git diff --exit-code -- $(NODE_DIR)/native.js $(NODE_DIR)/native.d.ts || \
		{ echo "the committed native.js/native.d.ts differ from a fresh build: commit them"; exit 1; }
