# Segmentation evaluation (docs/seg-eval.md): mIoU / aAcc / mAcc accumulation, whole / slide / flip / multi-scale
# test-time inference always; 8-bit label PNGs and palette overlays where OpenCV exists (SGMIM_WITH_SEG_PNG).
target_sources(sgmim PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/seg_metrics.cpp
  ${CMAKE_CURRENT_LIST_DIR}/seg_inference.cpp
)
# seg_metrics.h declares seg_metrics_json with nlohmann/json_fwd.hpp, so users of the header need its include path.
target_link_libraries(sgmim PUBLIC nlohmann_json::nlohmann_json)
if(OpenCV_FOUND)
  target_sources(sgmim PRIVATE ${CMAKE_CURRENT_LIST_DIR}/../io/seg_png.cpp)
  target_include_directories(sgmim SYSTEM PUBLIC ${OpenCV_INCLUDE_DIRS})
  target_link_libraries(sgmim PUBLIC opencv_core opencv_imgproc opencv_imgcodecs)
  target_compile_definitions(sgmim PUBLIC SGMIM_WITH_SEG_PNG=1)
  message(STATUS "sgmim: segmentation metrics, inference and label / overlay PNGs (OpenCV ${OpenCV_VERSION})")
else()
  message(STATUS "sgmim: segmentation metrics and inference; OpenCV missing, label / overlay PNGs are skipped")
endif()
