# Files in and out: .pth and .safetensors weight files (and their conversion), atomic writes, the pre-training → fine-tuning encoder transfer; with OpenCV the
# depth PNGs (uint16, colourised; SGMIM_WITH_DEPTH_PNG) and segmentation label PNGs and overlays (SGMIM_WITH_SEG_PNG).
sgmim_folder_sources(_sources EXCEPT png_file.cpp depth_png.cpp seg_png.cpp)
target_sources(sgmim PRIVATE ${_sources})
target_link_libraries(sgmim PRIVATE nlohmann_json::nlohmann_json)  # the safetensors header
if(OpenCV_FOUND AND TARGET sgmim_contact_sheet)  # the report component's colouring (report/depth_contact_sheet.h)
  target_sources(sgmim PRIVATE ${CMAKE_CURRENT_LIST_DIR}/png_file.cpp ${CMAKE_CURRENT_LIST_DIR}/depth_png.cpp
                               ${CMAKE_CURRENT_LIST_DIR}/seg_png.cpp)
  target_include_directories(sgmim SYSTEM PUBLIC ${OpenCV_INCLUDE_DIRS})
  target_link_libraries(sgmim PUBLIC opencv_core opencv_imgproc opencv_imgcodecs sgmim_contact_sheet)  # colourise_depth
  target_compile_definitions(sgmim PUBLIC SGMIM_WITH_DEPTH_PNG=1 SGMIM_WITH_SEG_PNG=1)
else()
  sgmim_dependency_missing("OpenCV 4" libopencv-dev "depth and segmentation PNG output is skipped")
endif()
