# Feature analysis and charts (src/analysis, src/plot): the Fourier profile on maps with known spectra always; with
# OpenCV the charts, the per-block analysis of an encoder, its reports and the checkpoint's encoder.
set(_sgmim_analysis_tests analysis/fourier_profile_test.cpp)
if("SGMIM_WITH_DATA=1" IN_LIST SGMIM_DEFINITIONS)
  list(APPEND _sgmim_analysis_tests analysis/chart_test.cpp analysis/transfer_summary_test.cpp)
  if("SGMIM_WITH_CONFIG=1" IN_LIST SGMIM_DEFINITIONS)
    list(APPEND _sgmim_analysis_tests analysis/fourier_analysis_test.cpp)
  endif()
endif()
sgmim_test(analysis_test ${_sgmim_analysis_tests})
