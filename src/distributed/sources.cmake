# Distributed data parallel over c10d (docs/distributed.md). Included from src/CMakeLists.txt.
# The sources always build: env resolution and the launcher need nothing, and the process group compiles to a
# world-of-one-only version when neither Gloo nor NCCL headers are there. The backends are switched on here:
#   SGMIM_WITH_GLOO=1  torch was built with Gloo (USE_C10D_GLOO) and its headers are on torch's include path
#                      (Debian: libgloo-dev; pip wheels may not ship them)
#   SGMIM_WITH_NCCL=1  a CUDA build (torch_cuda) with USE_C10D_NCCL and nccl.h found
target_sources(sgmim PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/dist_env.cpp
  ${CMAKE_CURRENT_LIST_DIR}/process_group.cpp
  ${CMAKE_CURRENT_LIST_DIR}/rendezvous_watch.cpp
  ${CMAKE_CURRENT_LIST_DIR}/local_launcher.cpp
)

# The c10d definitions that torch's imported targets propagate (torch itself forwards torch_cpu's through a
# generator expression, so read the underlying targets).
set(_sgmim_c10d_defs "")
foreach(_target torch_cpu torch_cuda)
  if(TARGET ${_target})
    get_target_property(_defs ${_target} INTERFACE_COMPILE_DEFINITIONS)
    if(_defs)
      list(APPEND _sgmim_c10d_defs ${_defs})
    endif()
  endif()
endforeach()

set(SGMIM_WITH_GLOO OFF)
if("USE_C10D_GLOO" IN_LIST _sgmim_c10d_defs)
  find_path(SGMIM_GLOO_INCLUDE_DIR gloo/algorithm.h PATHS ${TORCH_INCLUDE_DIRS} NO_DEFAULT_PATH)
  if(NOT SGMIM_GLOO_INCLUDE_DIR)
    # pip wheels build Gloo in but ship none of its headers, which ProcessGroupGloo.hpp includes: Debian's
    # libgloo-dev provides them (the 2.x lane; the two-rank tests check that the two agree at run time).
    find_path(SGMIM_GLOO_INCLUDE_DIR gloo/algorithm.h)
    if(SGMIM_GLOO_INCLUDE_DIR)
      message(STATUS "sgmim: torch's built-in Gloo with the headers of ${SGMIM_GLOO_INCLUDE_DIR} (libgloo-dev)")
    endif()
  endif()
  if(SGMIM_GLOO_INCLUDE_DIR)
    set(SGMIM_WITH_GLOO ON)
    target_compile_definitions(sgmim PUBLIC SGMIM_WITH_GLOO=1)
  endif()
endif()

set(SGMIM_WITH_NCCL OFF)
if(SGMIM_WITH_CUDA AND "USE_C10D_NCCL" IN_LIST _sgmim_c10d_defs)
  # pip wheels: Torch_DIR is <site-packages>/torch/share/cmake/Torch and NCCL comes as nvidia-nccl-cu*.
  get_filename_component(_sgmim_site "${Torch_DIR}/../../../.." ABSOLUTE)
  file(GLOB _sgmim_nccl_hints "${_sgmim_site}/nvidia/nccl/include" "${_sgmim_site}/nvidia/*/include")
  find_path(SGMIM_NCCL_INCLUDE_DIR nccl.h
    HINTS ${TORCH_INCLUDE_DIRS} ${_sgmim_nccl_hints} ${CUDAToolkit_INCLUDE_DIRS} /usr/local/cuda/include /usr/include)
  if(SGMIM_NCCL_INCLUDE_DIR)
    set(SGMIM_WITH_NCCL ON)
    target_include_directories(sgmim PUBLIC ${SGMIM_NCCL_INCLUDE_DIR})
    target_compile_definitions(sgmim PUBLIC SGMIM_WITH_NCCL=1)
  else()
    message(WARNING "sgmim: torch has NCCL but nccl.h was not found; set SGMIM_NCCL_INCLUDE_DIR (distributed runs fall back to gloo)")
  endif()
endif()
if(NOT SGMIM_WITH_GLOO)
  # Without Gloo only a world of one runs, and the multi-process tests skip. NCCL is not required: CUDA builds only.
  sgmim_dependency_missing("Gloo (a torch built with USE_C10D_GLOO and the gloo headers)" libgloo-dev
                           "multi-process runs on the CPU and their tests are off")
endif()
message(STATUS "sgmim: distributed backends: gloo ${SGMIM_WITH_GLOO}, nccl ${SGMIM_WITH_NCCL}")
