# The engines behind sgmim-bench and their reports: pre-training steps, MACs, segmentation steps and inference, the
# pre-training data loader, and what they share. The loader benchmark needs the data pipelines (src/data/sources.cmake:
# OpenCV + sgmim_synth).
sgmim_folder_sources(_sources EXCEPT loader_benchmark.cpp)
target_sources(sgmim PRIVATE ${_sources})
if(OpenCV_FOUND AND TARGET sgmim_synth)
  target_sources(sgmim PRIVATE ${CMAKE_CURRENT_LIST_DIR}/loader_benchmark.cpp)
endif()
