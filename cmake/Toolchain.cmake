# Compiler, standard and build-speed settings shared by every target.
if(NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)
  set(CMAKE_BUILD_TYPE Release CACHE STRING "Build type" FORCE)
endif()

# C++20 where the compiler allows it (LibTorch >= 2.12 requires it; the 1.13 headers accept it).
include(CheckCXXCompilerFlag)
check_cxx_compiler_flag(-std=c++20 SGMIM_HAS_CXX20)
if(SGMIM_HAS_CXX20)
  set(CMAKE_CXX_STANDARD 20)
else()
  set(CMAKE_CXX_STANDARD 17)
endif()
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_CXX_EXTENSIONS OFF)
set(CMAKE_EXPORT_COMPILE_COMMANDS ON)

find_program(SGMIM_CCACHE ccache)
if(SGMIM_CCACHE)
  # PCH and ccache work together only when ccache ignores the PCH timestamps. CCACHE_BASEDIR makes the paths under
  # the clone relative before hashing, so a clone in another folder (a CI run's fresh clone) hits the cache that an
  # earlier clone filled; CCACHE_NOHASHDIR keeps the working directory out of the hash for the same reason. The
  # variables must be set when the compiler runs, so they travel in the launcher.
  set(CMAKE_CXX_COMPILER_LAUNCHER ${CMAKE_COMMAND} -E env
      CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
      CCACHE_BASEDIR=${PROJECT_SOURCE_DIR} CCACHE_NOHASHDIR=true ${SGMIM_CCACHE})
endif()

if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
  add_compile_options(-Wall -Wextra -Wno-unused-parameter -Wno-sign-compare)
endif()

# The build-speed settings of a torch-side target (docs/benchmarks.md "Build and test time"): `sgmim` precompiles
# <torch/torch.h> (a translation unit from about 15 s to 7 s on 2 cores) and every other torch-side target reuses that
# header; with SGMIM_UNITY_BUILD the target's sources compile in batches of SGMIM_UNITY_BATCH_SIZE (a test binary's
# 14 sources from 91 s to 17 s). Sources with their own compile options stay out of the batches (CMake's rule).
function(sgmim_torch_target target)
  if(SGMIM_USE_PCH)
    if(target STREQUAL "sgmim")
      target_precompile_headers(sgmim PRIVATE <torch/torch.h>)
    else()
      target_precompile_headers(${target} REUSE_FROM sgmim)
    endif()
  endif()
  set_target_properties(${target} PROPERTIES UNITY_BUILD ${SGMIM_UNITY_BUILD}
                                             UNITY_BUILD_BATCH_SIZE ${SGMIM_UNITY_BATCH_SIZE})
  # In a batch a source is an included file, so GCC warns for each class that holds a type of the source's anonymous
  # namespace (say the trainer's State with its task): what is right in a source file.
  if(SGMIM_UNITY_BUILD AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(${target} PRIVATE -Wno-subobject-linkage)
  endif()
endfunction()
