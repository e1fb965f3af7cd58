# Charts drawn with OpenCV (include/sgmim/plot): nice axis ticks, line charts with a legend, grouped bar charts with
# error bars; the loss curves of a run's metrics.jsonl. For runs, the Fourier analysis and the experiments (docs/analysis.md).
if(OpenCV_FOUND)
  target_sources(sgmim PRIVATE
    ${CMAKE_CURRENT_LIST_DIR}/chart_axes.cpp
    ${CMAKE_CURRENT_LIST_DIR}/chart_frame.cpp
    ${CMAKE_CURRENT_LIST_DIR}/line_chart.cpp
    ${CMAKE_CURRENT_LIST_DIR}/bar_chart.cpp
    ${CMAKE_CURRENT_LIST_DIR}/loss_curves.cpp
  )
  target_link_libraries(sgmim PRIVATE nlohmann_json::nlohmann_json)
  target_include_directories(sgmim SYSTEM PUBLIC ${OpenCV_INCLUDE_DIRS})
  target_link_libraries(sgmim PUBLIC opencv_core opencv_imgproc opencv_imgcodecs)
endif()
