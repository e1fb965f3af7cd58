# Charts drawn with OpenCV (include/sgmim/plot): nice axis ticks, line charts with a legend, grouped bar charts with
# error bars; the loss curves of a run's metrics.jsonl. For runs, the Fourier analysis and the experiments (docs/analysis.md).
if(OpenCV_FOUND)
  sgmim_folder_sources(_sources)
  target_sources(sgmim PRIVATE ${_sources})
  target_link_libraries(sgmim PRIVATE nlohmann_json::nlohmann_json)
  target_include_directories(sgmim SYSTEM PUBLIC ${OpenCV_INCLUDE_DIRS})
  target_link_libraries(sgmim PUBLIC opencv_core opencv_imgproc opencv_imgcodecs)
endif()
