# Third-party packages. Torch is required; the rest are Debian packages that the GPU machine may lack,
# so everything but Torch degrades to an off switch with a message (see docs/gpu.md), unless SGMIM_REQUIRE_ALL is ON
# (as `make test` sets it): then a missing one fails the configure, naming its Debian package, so that no part of the
# library and no test binary is dropped quietly (docs/architecture.md, "Required dependencies").

# Reports an optional dependency that was not found: a STATUS line saying what is switched off, or, with
# SGMIM_REQUIRE_ALL=ON, a configure error naming the Debian package to install.
function(sgmim_dependency_missing what package consequence)
  if(SGMIM_REQUIRE_ALL)
    message(FATAL_ERROR "sgmim: ${what} not found; SGMIM_REQUIRE_ALL=ON requires it: install the Debian package "
                        "${package} (scripts/setup.sh installs every package), or configure with "
                        "-DSGMIM_REQUIRE_ALL=OFF to build without it (${consequence})")
  endif()
  message(STATUS "sgmim: ${what} (${package}) not found, ${consequence}")
endfunction()

find_package(Torch REQUIRED)
message(STATUS "sgmim: LibTorch ${Torch_VERSION} at ${Torch_DIR}")

if(TARGET torch_cuda)
  set(SGMIM_WITH_CUDA ON)
else()
  set(SGMIM_WITH_CUDA OFF)
endif()
message(STATUS "sgmim: CUDA support ${SGMIM_WITH_CUDA}")

find_package(Threads REQUIRED)
find_package(nlohmann_json 3 QUIET)
find_package(CLI11 QUIET)
find_package(spdlog QUIET)
find_package(GTest QUIET)

if(NOT nlohmann_json_FOUND)
  message(FATAL_ERROR "sgmim: nlohmann-json3-dev is required (run scripts/setup.sh, or see docs/gpu.md)")
endif()
if(SGMIM_BUILD_APPS AND NOT CLI11_FOUND)
  message(FATAL_ERROR "sgmim: libcli11-dev is required for the apps (run scripts/setup.sh, or see docs/gpu.md)")
endif()
if(SGMIM_BUILD_TESTS AND NOT GTest_FOUND)
  message(FATAL_ERROR "sgmim: libgtest-dev is required for the tests (run scripts/setup.sh, or see docs/gpu.md)")
endif()
if(spdlog_FOUND)
  message(STATUS "sgmim: logging through spdlog ${spdlog_VERSION}")
else()
  sgmim_dependency_missing(spdlog libspdlog-dev "logging to stderr directly")
endif()
