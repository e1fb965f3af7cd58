# The two entry points of the README. Both install what is missing (scripts/setup.sh), then build.
#   make demo   set-up, build, then the main job on its embedded default
#   make test   set-up, build, then the whole test suite (ctest)
# The LibTorch 2.x lane (docs/platform.md "The LibTorch 2.x lane"), which GPU users build and CI runs second:
#   make test-torch2   set-up, the venv of scripts/setup-torch2.sh (outside the clone), a CUDA build in
#                      build-torch2/ against the wheel's LibTorch with the toolkit's nvcc, then the whole suite on the
#                      CPU (tests that need a GPU skip with a message)
# `make test` configures with SGMIM_REQUIRE_ALL=ON: set-up has installed every package, so a dependency that CMake
# still cannot find fails the configure instead of dropping test binaries (docs/architecture.md, "Required
# dependencies"). Plain cmake and the other targets keep the default OFF.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
CMAKE_ARGS ?=
REQUIRE_ALL ?= OFF

# The 2.x lane. TORCH2_PYTHON names a python whose torch to build against (default: the venv that
# scripts/setup-torch2.sh makes); its CMake arguments live in scripts/configure-torch2.sh (NVCC and
# TORCH_CUDA_ARCH_LIST pass through the environment).
TORCH2_BUILD_DIR ?= build-torch2
TORCH2_PYTHON ?=

.PHONY: all setup configure build demo test bench clean setup-torch2 configure-torch2 build-torch2 test-torch2

all: build

setup:
	bash scripts/setup.sh

configure: setup
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release -DSGMIM_REQUIRE_ALL=$(REQUIRE_ALL) $(CMAKE_ARGS)

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

demo: build
	$(BUILD_DIR)/apps/sgmim-pretrain

test: REQUIRE_ALL = ON
test: build
	cd $(BUILD_DIR) && ctest -j $(JOBS) --output-on-failure --timeout 900

bench: build
	bash scripts/bench/blas_step.sh $(BUILD_DIR)

setup-torch2: setup
	SGMIM_TORCH2_PYTHON="$(TORCH2_PYTHON)" bash scripts/setup-torch2.sh

configure-torch2: setup-torch2
	bash scripts/configure-torch2.sh $(TORCH2_BUILD_DIR) \
	  "$$(SGMIM_TORCH2_PYTHON="$(TORCH2_PYTHON)" bash scripts/setup-torch2.sh --print-python)" $(CMAKE_ARGS)

build-torch2: configure-torch2
	cmake --build $(TORCH2_BUILD_DIR) -j $(JOBS)

test-torch2: build-torch2
	cd $(TORCH2_BUILD_DIR) && ctest -j $(JOBS) --output-on-failure --timeout 900

clean:
	rm -rf $(BUILD_DIR) $(TORCH2_BUILD_DIR)
