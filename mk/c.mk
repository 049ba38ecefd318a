# The C face: ffi/ (crate connect-dynamodb-ffi) and include/connect_dynamodb.h.

CBINDGEN_VERSION := 0.29.4
CBINDGEN_ROOT := .cache/cbindgen
CBINDGEN := $(CBINDGEN_ROOT)/bin/cbindgen
C_HEADER := include/connect_dynamodb.h
C_TARGET_DIR := target/$(CARGO_BUILD_TARGET)
# `make install` builds and installs the release profile; the tests install the debug build.
C_INSTALL_PROFILE ?= release
PREFIX ?= /usr/local
C_VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
# The shared library's SONAME is libconnect_dynamodb.so.$(C_MAJOR) (ffi/build.rs).
C_MAJOR := $(firstword $(subst ., ,$(C_VERSION)))
C_SONAME := libconnect_dynamodb.so.$(C_MAJOR)
# What the static library needs besides libc on glibc (rustc --print native-static-libs); the
# release tarballs take theirs from each target's own build.
C_LIBS_PRIVATE ?= -lgcc_s -lutil -lrt -lpthread -lm -ldl

.PHONY: c-build test-c test-c-suite lint-c header install bench-c
c-build: ## Build libconnect_dynamodb.so and .a
	$(CARGO) build -p connect-dynamodb-ffi
	@# Programs linked with -lconnect_dynamodb load it by its SONAME.
	ln -sf libconnect_dynamodb.so $(C_TARGET_DIR)/debug/$(C_SONAME)

test-c: c-build node-build ## Run only the C tests (against a fresh DynamoDB Local)
	$(DYNAMODB_LOCAL) run -- $(MAKE) --no-print-directory test-c-suite

test-c-suite: c-build # The C suite, run inside DynamoDB Local's lifetime
	ffi/tests/run.sh

# The C face's memory bench (ffi/bench/memory_bench.c), compiled against the release library.
C_BENCH := target/c-bench/memory_bench
C_RELEASE_DIR := $(C_TARGET_DIR)/release

bench-c: ## Measure the C face's RSS (idle, after 100,000 mixed calls) and CPU per call, release build, on a fresh DynamoDB Local; results into BENCH_OUT when set
	$(CARGO) build --release -q -p connect-dynamodb-ffi
	ln -sf libconnect_dynamodb.so $(C_RELEASE_DIR)/$(C_SONAME)
	mkdir -p $(dir $(C_BENCH))
	$(CC) -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -Iinclude ffi/bench/memory_bench.c \
		-L$(C_RELEASE_DIR) -lconnect_dynamodb -Wl,-rpath,$(CURDIR)/$(C_RELEASE_DIR) -lpthread -o $(C_BENCH)
	$(DYNAMODB_LOCAL) run -- $(C_BENCH)

# The pinned cbindgen, installed into the git-ignored cache when missing.
$(CBINDGEN):
	$(CARGO) install cbindgen --version =$(CBINDGEN_VERSION) --locked --root $(CBINDGEN_ROOT)

lint-c: $(CBINDGEN) ## Check that include/connect_dynamodb.h matches a fresh cbindgen run
	@fresh=$$(mktemp); trap 'rm -f "$$fresh"' EXIT; \
	$(CBINDGEN) --quiet --config ffi/cbindgen.toml --output "$$fresh" ffi; \
	diff -u $(C_HEADER) "$$fresh" || { \
		echo "lint-c: $(C_HEADER) differs from a fresh cbindgen $(CBINDGEN_VERSION) run (diff above): run 'make header' and commit it" >&2; \
		exit 1; }

header: $(CBINDGEN) ## Regenerate include/connect_dynamodb.h with the pinned cbindgen
	$(CBINDGEN) --quiet --config ffi/cbindgen.toml --output $(C_HEADER) ffi

# DESTDIR (empty by default) is prepended to every installed path but not written into the
# pkg-config file, as packagers expect.
install: ## Install the C library (release build), header and pkg-config file under PREFIX (default /usr/local)
	$(CARGO) build -p connect-dynamodb-ffi $(if $(filter release,$(C_INSTALL_PROFILE)),--release,)
	install -d "$(DESTDIR)$(PREFIX)/lib/pkgconfig" "$(DESTDIR)$(PREFIX)/include"
	install -m 644 $(C_HEADER) "$(DESTDIR)$(PREFIX)/include/"
	install -m 755 $(C_TARGET_DIR)/$(C_INSTALL_PROFILE)/libconnect_dynamodb.so "$(DESTDIR)$(PREFIX)/lib/$(C_SONAME)"
	ln -sf $(C_SONAME) "$(DESTDIR)$(PREFIX)/lib/libconnect_dynamodb.so"
	install -m 644 $(C_TARGET_DIR)/$(C_INSTALL_PROFILE)/libconnect_dynamodb.a "$(DESTDIR)$(PREFIX)/lib/"
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(C_VERSION)|' -e 's|@LIBS_PRIVATE@|$(C_LIBS_PRIVATE)|' \
		ffi/connect_dynamodb.pc.in > "$(DESTDIR)$(PREFIX)/lib/pkgconfig/connect_dynamodb.pc"
	@echo "installed libconnect_dynamodb $(C_VERSION) ($(C_INSTALL_PROFILE) build) under $(DESTDIR)$(PREFIX)"
