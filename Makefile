# py-outliers: `make bench` (build, then the comparison) and `make test` do the whole set-up.
# Everything they need is installed here: the Python venv and its pinned packages, the npm
# packages, the addon (built against the venv's Python) and the TypeScript build.

PYTHON ?= python3
VENV := .venv
VENV_PY := $(VENV)/bin/python
VENV_STAMP := $(VENV)/.requirements-installed
NPM_STAMP := node_modules/.installed
ADDON := build/Release/py_outliers.node
DIST := dist/index.js
GRPC_STUBS := python/generated/detect_pb2_grpc.py

NATIVE_SOURCES := $(wildcard native/*.cc native/*.h) native/python_config.js binding.gyp
TS_SOURCES := $(wildcard src/*.ts src/*.mts) tsconfig.json tsconfig.build.json

.PHONY: all build test bench bench-instructions typecheck asan valgrind clean distclean

all: build

build: $(ADDON) $(DIST) $(GRPC_STUBS)

$(VENV_STAMP): python/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV_PY) -m pip install -r python/requirements.txt
	touch $@

# `npm install` (it follows package-lock.json) also builds the addon (the package's install script), against the venv made above.
$(NPM_STAMP): package.json package-lock.json $(VENV_STAMP)
	npm install --no-audit --no-fund
	touch $@

$(ADDON): $(NATIVE_SOURCES) $(VENV_STAMP) $(NPM_STAMP)
	npm run build:native
	touch $@

$(DIST): $(TS_SOURCES) $(NPM_STAMP)
	npm run build:ts
	touch $@

# The gRPC baseline's Python stubs, generated (not committed) from the proto.
$(GRPC_STUBS): python/detect.proto $(VENV_STAMP)
	mkdir -p python/generated
	$(VENV_PY) -m grpc_tools.protoc -Ipython --python_out=python/generated \
		--grpc_python_out=python/generated python/detect.proto

typecheck: $(NPM_STAMP)
	npm run typecheck

test: build typecheck
	npx vitest run
	BENCH_QUICK=1 node bench/run.mjs > /dev/null

bench: build
	node bench/run.mjs

# Instruction counts per call under callgrind: a steadier view of the overhead than the clock
# (needs valgrind; about five minutes).
bench-instructions: build
	node bench/instructions.mjs

# AddressSanitizer + UndefinedBehaviorSanitizer: the addon is rebuilt instrumented, and with the
# ASan runtime preloaded into node (node and CPython are not instrumented; the runtime must be
# loaded first) 1. the test suite runs with leak detection off (its process.exit() and
# worker.terminate() cases make Node itself leak), then 2. a scenario that ends normally runs
# with LeakSanitizer on. The leak test (RSS is meaningless under ASan) and the packaging test
# (it runs the compiler) are left out. The normal build is restored afterwards, whatever the
# outcome. Suppressions and why: test/sanitizers/lsan.supp.
ASAN_RUNTIME = $(shell $(CXX) -print-file-name=libasan.so)
ASAN_ENV = LD_PRELOAD=$(ASAN_RUNTIME) \
	LSAN_OPTIONS=suppressions=$(CURDIR)/test/sanitizers/lsan.supp:print_suppressions=0 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ASAN_OPTS = abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1
asan: build
	GYP_DEFINES=py_outliers_sanitize=1 npm run build:native
	$(ASAN_ENV) ASAN_OPTIONS=detect_leaks=0:$(ASAN_OPTS) \
		npx vitest run --exclude test/package.test.ts --exclude test/leaks.test.ts \
	&& $(ASAN_ENV) ASAN_OPTIONS=detect_leaks=1:$(ASAN_OPTS) \
		node --expose-gc test/sanitizers/scenario.js; \
	status=$$?; npm run build:native; exit $$status

# valgrind memcheck on the sanitizer scenario (about a minute): any invalid read or write, or
# use of uninitialised memory, outside the suppressed library internals fails the run.
# PYTHONMALLOC=malloc lets valgrind see CPython's allocations. Suppressions and why:
# test/sanitizers/valgrind.supp.
valgrind: build
	PYTHONMALLOC=malloc valgrind --tool=memcheck --error-exitcode=9 --leak-check=no \
		--num-callers=30 --suppressions=$(CURDIR)/test/sanitizers/valgrind.supp \
		node --expose-gc test/sanitizers/scenario.js

clean:
	rm -rf build dist bench/results python/generated

distclean: clean
	rm -rf node_modules $(VENV)
