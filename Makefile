# The two entry points of the README. Both install what is missing (scripts/setup.sh), then build.
#   make demo   set-up, build, then the main job on its embedded default
#   make test   set-up, build, then the whole test suite (ctest)
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
CMAKE_ARGS ?=

.PHONY: all setup configure build demo test bench clean

all: build

setup:
	bash scripts/setup.sh

configure: setup
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_ARGS)

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

demo: build
	$(BUILD_DIR)/apps/sgmim-pretrain

test: build
	cd $(BUILD_DIR) && ctest -j $(JOBS) --output-on-failure --timeout 900

bench: build
	bash scripts/bench/blas_step.sh $(BUILD_DIR)

clean:
	rm -rf $(BUILD_DIR)
