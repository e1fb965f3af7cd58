# Feature analysis (include/sgmim/analysis): the Fourier relative-log-amplitude profile of feature maps, always; the
# per-block analysis over a folder of images with its CSV / JSON / PNG reports, and the encoder of a checkpoint, where the data pipeline (OpenCV) and
# the charts exist (docs/analysis.md).
target_sources(sgmim PRIVATE ${CMAKE_CURRENT_LIST_DIR}/fourier_profile.cpp)
if(OpenCV_FOUND AND TARGET sgmim_synth)
  target_sources(sgmim PRIVATE ${CMAKE_CURRENT_LIST_DIR}/fourier_analysis.cpp ${CMAKE_CURRENT_LIST_DIR}/transfer_summary.cpp)
  if(TARGET sgmim_config)
    target_sources(sgmim PRIVATE ${CMAKE_CURRENT_LIST_DIR}/checkpoint_encoder.cpp)
  endif()
  target_link_libraries(sgmim PRIVATE nlohmann_json::nlohmann_json)
endif()
