# ctest script (tests/CMakeLists.txt, cmake_require_all_*): configures this project in a scratch directory with one
# optional dependency hidden (CMAKE_DISABLE_FIND_PACKAGE_<Pkg>=TRUE) and checks what SGMIM_REQUIRE_ALL does with it
# (docs/architecture.md, "Required dependencies"):
#   REQUIRE_ALL=ON   the configure fails and names the Debian package
#   REQUIRE_ALL=OFF  the configure succeeds and says, in a STATUS line, what is switched off
# Arguments: -DSOURCE_DIR= -DWORK_DIR= -DPACKAGE=<CMake package> -DDEBIAN=<Debian package> -DREQUIRE_ALL=ON|OFF
foreach(var SOURCE_DIR WORK_DIR PACKAGE DEBIAN REQUIRE_ALL)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "require_all_test.cmake: -D${var}= is missing")
  endif()
endforeach()
file(REMOVE_RECURSE "${WORK_DIR}")
execute_process(
  COMMAND "${CMAKE_COMMAND}" -S "${SOURCE_DIR}" -B "${WORK_DIR}" -DSGMIM_REQUIRE_ALL=${REQUIRE_ALL}
          -DCMAKE_DISABLE_FIND_PACKAGE_${PACKAGE}=TRUE -DSGMIM_BUILD_TESTS=OFF -DSGMIM_BUILD_APPS=OFF
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
file(REMOVE_RECURSE "${WORK_DIR}")
set(log "${out}${err}")
string(REGEX REPLACE "[ \t\r\n]+" " " flat "${log}")  # CMake wraps long messages
if(REQUIRE_ALL)
  if(rc EQUAL 0)
    message(FATAL_ERROR "SGMIM_REQUIRE_ALL=ON configured without ${PACKAGE}:\n${log}")
  endif()
  string(FIND "${flat}" "SGMIM_REQUIRE_ALL=ON requires it: install the Debian package ${DEBIAN}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "the configure error does not name the package ${DEBIAN}:\n${log}")
  endif()
else()
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "SGMIM_REQUIRE_ALL=OFF failed without the optional ${PACKAGE}:\n${log}")
  endif()
  string(FIND "${flat}" "(${DEBIAN}) not found" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "no STATUS line names the missing ${DEBIAN}:\n${log}")
  endif()
endif()
message(STATUS "ok: SGMIM_REQUIRE_ALL=${REQUIRE_ALL} without ${PACKAGE}")
