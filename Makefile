# The two entry points of the README. Both install what is missing (scripts/setup.sh), then build.
#   make demo   set-up, build, then the main job on its embedded default
#   make test   set-up, build, then the whole test suite (ctest)
# `make test` configures with SGMIM_REQUIRE_ALL=ON: set-up has installed every package, so a dependency that CMake
# still cannot find fails the configure instead of dropping test binaries (docs/architecture.md, "Required
# dependencies"). Plain cmake and the other targets keep the default OFF.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
CMAKE_ARGS ?=
REQUIRE_ALL ?= OFF

.PHONY: all setup configure build demo test bench clean

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

clean:
	rm -rf $(BUILD_DIR)
