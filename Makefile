# Entry points: `make demo` (the main job) and `make test` (all tests).
# Both install what they need: Debian packages when running as root, Python
# packages into .venv. SANITIZE=address,undefined builds into its own tree.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
JOBS ?= $(shell nproc)
SANITIZE ?=
ifeq ($(SANITIZE),)
BUILD ?= build
else
BUILD ?= build-san-$(subst $(comma),-,$(SANITIZE))
endif
comma := ,
APT_PACKAGES := cmake make gcc pkg-config pocl-opencl-icd ocl-icd-opencl-dev opencl-headers libcmocka-dev valgrind \
                libjemalloc2 libmimalloc2.0 libfftw3-dev libclfft-dev
SAN_ENV :=
ifneq ($(SANITIZE),)
export LSAN_OPTIONS := suppressions=$(abspath tests/lsan.supp):print_suppressions=0
# Python is not instrumented: preload the sanitizer runtimes for the extension.
# clFFT 2.12 (Debian) deletes its plan actions through a base class without a
# virtual destructor, which ASan reports as new-delete-type-mismatch inside
# libclFFT: that one check is off.
SAN_ENV := LD_PRELOAD="$(shell gcc -print-file-name=libasan.so) $(shell gcc -print-file-name=libubsan.so)" \
           ASAN_OPTIONS=detect_leaks=0:new_delete_type_mismatch=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
endif
export POCL_DEVICES ?= pthread pthread

.PHONY: all deps build test test-c test-python test-valgrind test-threads demo bench clean

all: build

deps: $(VENV)/.stamp .apt.stamp

.apt.stamp:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "missing Debian packages (run as root or install them):$$missing"; exit 1; fi; \
	fi; touch $@

$(VENV)/.stamp: requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

build: deps
	cmake -S . -B $(BUILD) -DPython3_EXECUTABLE=$(abspath $(PY)) -DZC_SANITIZE=$(SANITIZE) >$(BUILD).configure.log 2>&1 \
	  || (cat $(BUILD).configure.log; exit 1)
	cmake --build $(BUILD) -j$(JOBS)

test-c: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

test-python: build
	$(SAN_ENV) ZC_BUILD_DIR=$(abspath $(BUILD)) PYTHONPATH=$(abspath $(BUILD))/python \
	  $(PY) -m pytest -q tests/python

test: test-c test-python

# The C tests under valgrind memcheck (suppressions cover third-party loaders only).
VALGRIND := valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite --keep-debuginfo=yes \
            --suppressions=$(abspath tests/valgrind/zkclob.supp) -q
test-valgrind: build
	@for t in $(BUILD)/bin/test_*; do echo "valgrind $$t"; ZC_LOG_LEVEL=error $(VALGRIND) $$t >/dev/null || exit 1; done

# The lock-free memory paths under ThreadSanitizer, then under helgrind
# (built with -DZC_HELGRIND so it sees where C11 atomics order memory, and
# with fewer operations: it runs about 100x slower).
TSAN_BUILD ?= build-tsan
HELGRIND_BUILD ?= build-helgrind
THREAD_CMAKE := -DCMAKE_BUILD_TYPE=RelWithDebInfo -DZC_BUILD_PYTHON=OFF -DZC_BUILD_BENCH=OFF -DZC_BUILD_CUDA=OFF \
                -DZC_BUILD_OPENCL=OFF
test-threads: .apt.stamp
	cmake -S . -B $(TSAN_BUILD) $(THREAD_CMAKE) -DZC_SANITIZE=thread >$(TSAN_BUILD).configure.log 2>&1 \
	  || (cat $(TSAN_BUILD).configure.log; exit 1)
	cmake --build $(TSAN_BUILD) -j$(JOBS) --target test_mem_stress test_mem
	ZC_LOG_LEVEL=error TSAN_OPTIONS=halt_on_error=1 $(TSAN_BUILD)/bin/test_mem_stress
	ZC_LOG_LEVEL=error TSAN_OPTIONS=halt_on_error=1 $(TSAN_BUILD)/bin/test_mem
	cmake -S . -B $(HELGRIND_BUILD) $(THREAD_CMAKE) -DCMAKE_C_FLAGS=-DZC_HELGRIND \
	  >$(HELGRIND_BUILD).configure.log 2>&1 || (cat $(HELGRIND_BUILD).configure.log; exit 1)
	cmake --build $(HELGRIND_BUILD) -j$(JOBS) --target test_mem_stress
	ZC_LOG_LEVEL=error ZC_STRESS_OPS=100000 valgrind --tool=helgrind --error-exitcode=1 -q \
	  $(HELGRIND_BUILD)/bin/test_mem_stress

# The main job at its default size: signed stream, verification, matching, market data, risk,
# state root and journal replay (python -m zkclob run --help for sizes, --device, --json).
demo: build
	PYTHONPATH=$(abspath $(BUILD))/python $(PY) -m zkclob run

# Every benchmark prints JSON lines {"bench", "n", "seconds", "rate", "anchor", "ratio"}.
bench: build
	@for b in $(BUILD)/bin/bench_*; do [ -x "$$b" ] && "$$b" || exit 1; done
	@for b in bench/bench_*.py; do PYTHONPATH=$(abspath $(BUILD))/python $(PY) "$$b" || exit 1; done

clean:
	rm -rf build build-san-* build-tsan build-helgrind build*.configure.log .apt.stamp
