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
# 14 sources from 91 s to 17 s; sgmim_write_unity_batches below, once the directory has added every source).
function(sgmim_torch_target target)
  if(SGMIM_USE_PCH)
    if(target STREQUAL "sgmim")
      target_precompile_headers(sgmim PRIVATE <torch/torch.h>)
    else()
      target_precompile_headers(${target} REUSE_FROM sgmim)
    endif()
  endif()
  if(SGMIM_UNITY_BUILD)
    # (a deferred call expands its arguments when it runs: the target's name goes in now, as a bracket argument)
    cmake_language(EVAL CODE "cmake_language(DEFER CALL sgmim_write_unity_batches [[${target}]])")
    # In a batch a source is an included file, so GCC warns for each class that holds a type of the source's
    # anonymous namespace (say the trainer's State with its task): what is right in a source file.
    if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
      target_compile_options(${target} PRIVATE -Wno-subobject-linkage)
    endif()
  endif()
endfunction()

# Unity batches written here rather than by CMake's UNITY_BUILD, which (in CMake 3.25) includes each source by its
# absolute path: a clone in another folder would compile other text and miss ccache. These batches include their
# sources by paths relative to the batch file, the same text in every clone. As CMake's rule, C++ sources with their
# own COMPILE_OPTIONS or SKIP_UNITY_BUILD_INCLUSION compile on their own. A batch file is rewritten only when its
# content changes.
function(sgmim_write_unity_batches target)
  get_target_property(sources ${target} SOURCES)
  get_target_property(source_dir ${target} SOURCE_DIR)
  get_target_property(binary_dir ${target} BINARY_DIR)
  set(batch_dir ${binary_dir}/sgmim_unity/${target})
  set(kept "")
  set(batches "")
  set(batch "")
  set(in_batch 0)
  foreach(source IN LISTS sources)
    get_source_file_property(options ${source} COMPILE_OPTIONS)
    get_source_file_property(skip ${source} SKIP_UNITY_BUILD_INCLUSION)
    if(NOT source MATCHES "\\.(cpp|cc|cxx)$" OR options OR skip)
      list(APPEND kept ${source})
      continue()
    endif()
    get_filename_component(path ${source} ABSOLUTE BASE_DIR ${source_dir})
    file(RELATIVE_PATH relative ${batch_dir} ${path})
    string(APPEND batch "#include \"${relative}\"\n")
    math(EXPR in_batch "${in_batch} + 1")
    if(in_batch EQUAL SGMIM_UNITY_BATCH_SIZE)
      list(LENGTH batches index)
      file(CONFIGURE OUTPUT ${batch_dir}/unity_${index}.cpp CONTENT "${batch}")
      list(APPEND batches ${batch_dir}/unity_${index}.cpp)
      set(batch "")
      set(in_batch 0)
    endif()
  endforeach()
  if(in_batch GREATER 0)
    list(LENGTH batches index)
    file(CONFIGURE OUTPUT ${batch_dir}/unity_${index}.cpp CONTENT "${batch}")
    list(APPEND batches ${batch_dir}/unity_${index}.cpp)
  endif()
  set_property(TARGET ${target} PROPERTY SOURCES ${kept} ${batches})
endfunction()
