# Release artifacts: dist/ (git-ignored). `make dist` cross-builds every face for every Linux
# target with zig (scripts/dist-env.sh) into its own cargo target directory (target/dist), so
# the caches of `make test` are never touched; `make dist-check` proves the artifacts (glibc
# 2.17, auditwheel, clean installs and round trips, arm64 under qemu-user); `make dist-ci` is
# the part CI runs: linux-arm64-gnu built and checked. RELEASING.md tells the whole release.

DIST_TARGETS ?= x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu x86_64-unknown-linux-musl aarch64-unknown-linux-musl
# 1: dist-check builds the sdist with pip (a full release compile); dist-ci leaves it out.
DIST_CHECK_SDIST ?= 1
DIST_TOOLS := .cache/dist-tools
DIST_TOOLS_STAMP := $(DIST_TOOLS)/.requirements-dist.stamp

$(DIST_TOOLS_STAMP): $(PY_DIR)/requirements-dist.txt
	test -x $(DIST_TOOLS)/bin/python || $(PYTHON3) -m venv $(DIST_TOOLS)
	$(DIST_TOOLS)/bin/pip install --quiet --disable-pip-version-check -r $<
	touch $@

.PHONY: dist dist-tools dist-check dist-check-deps dist-ci
dist-tools: $(DIST_TOOLS_STAMP) node-deps python-venv # zig, cargo-zigbuild and auditwheel (PyPI); the Rust std of each target
	for t in $(DIST_TARGETS); do rustup target list --installed | grep -qx "$$t" || rustup target add "$$t"; done

dist: dist-tools ## Build the npm packages, abi3 wheels + sdist and C tarballs for Linux x64/arm64, glibc 2.17 and musl, into dist/
	for t in $(DIST_TARGETS); do scripts/dist-build.sh "$$t"; done
	scripts/dist-package.sh $(DIST_TARGETS)

dist-check-deps: # qemu-user, the arm64 and musl runtimes, npm's arm64 Node, an arm64 Debian root
	scripts/dist-check-deps.sh $(DIST_TARGETS)

dist-check: dist dist-check-deps ## Check dist/: glibc <= 2.17, auditwheel, installs and round trips on x64, arm64 (qemu-user) and musl
	DIST_CHECK_SDIST=$(DIST_CHECK_SDIST) $(DYNAMODB_LOCAL) run -- scripts/dist-check.sh $(DIST_TARGETS)

dist-ci: ## What CI runs of the above: linux-arm64-gnu built, checked and run under qemu-user
	$(MAKE) --no-print-directory dist-check DIST_TARGETS=aarch64-unknown-linux-gnu DIST_CHECK_SDIST=0
