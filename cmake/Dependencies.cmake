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

# A pip wheel's LibTorch (the 2.x lane, docs/platform.md "The LibTorch 2.x lane") is named by its
# torch.utils.cmake_prefix_path, <torch>/share/cmake. TorchConfig.cmake looks for libtorch.so with find_library PATHS,
# which come after the system directories, so on a machine that also has Debian's libtorch-dev it would link
# /usr/lib's 1.13 libraries under 2.x headers. Searching the wheel's root as a prefix first prevents that, and the
# check after find_package refuses any such mix.
foreach(_sgmim_prefix ${CMAKE_PREFIX_PATH})
  if(_sgmim_prefix MATCHES "/torch/share/cmake/?$")
    get_filename_component(_sgmim_torch_root "${_sgmim_prefix}/../.." ABSOLUTE)
    list(PREPEND CMAKE_PREFIX_PATH "${_sgmim_torch_root}")
  endif()
endforeach()
find_package(Torch REQUIRED)
message(STATUS "sgmim: LibTorch ${Torch_VERSION} at ${Torch_DIR}")
get_filename_component(_sgmim_torch_lib_dir "${TORCH_LIBRARY}" DIRECTORY)
get_filename_component(_sgmim_torch_prefix "${TORCH_INSTALL_PREFIX}" REALPATH)
get_filename_component(_sgmim_torch_lib_dir "${_sgmim_torch_lib_dir}" REALPATH)
string(FIND "${_sgmim_torch_lib_dir}" "${_sgmim_torch_prefix}" _sgmim_at)
if(NOT _sgmim_at EQUAL 0)
  message(FATAL_ERROR "sgmim: the LibTorch of ${Torch_DIR} would link ${TORCH_LIBRARY}, which is not its own "
                      "(${TORCH_INSTALL_PREFIX}/lib): add ${TORCH_INSTALL_PREFIX} to CMAKE_PREFIX_PATH")
endif()

# A pip wheel's libtorch_cuda finds NCCL, cuDNN and the CUDA runtime of its nvidia-* packages through its own RPATH
# ($ORIGIN/../../nvidia/*/lib). GNU ld, resolving libtorch_cuda's needs at link time, searches our -rpath directories
# first, where the toolkit's older libnccl.so.2 lies (/usr/local/cuda/lib), and fails on NCCL symbols it lacks
# (checked: ncclCommGrow, ncclCommSuspend, ... with torch 2.15 and CUDA 13.0). -rpath-link comes first in ld's search,
# so it names the wheel's own directories (docs/platform.md "The LibTorch 2.x lane").
set(SGMIM_TORCH_LINK_OPTIONS "")
file(GLOB _sgmim_wheel_lib_dirs LIST_DIRECTORIES true "${TORCH_INSTALL_PREFIX}/../nvidia/*/lib")
if(_sgmim_wheel_lib_dirs)
  list(JOIN _sgmim_wheel_lib_dirs ":" _sgmim_wheel_lib_path)
  set(SGMIM_TORCH_LINK_OPTIONS "LINKER:-rpath-link,${_sgmim_wheel_lib_path}")
endif()

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
