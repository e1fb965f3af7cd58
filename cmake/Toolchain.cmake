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
  # PCH and ccache work together only when ccache ignores the PCH timestamps; the variable must be set when the
  # compiler runs, so it travels in the launcher.
  set(CMAKE_CXX_COMPILER_LAUNCHER ${CMAKE_COMMAND} -E env
      CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime ${SGMIM_CCACHE})
endif()

if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
  add_compile_options(-Wall -Wextra -Wno-unused-parameter -Wno-sign-compare)
endif()
