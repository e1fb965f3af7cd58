# The pre-training data pipeline (include/sgmim/data): image/knowledge-map decoding with OpenCV, the joint
# augmentation, the ImageFolder/MultiMAE and synthetic datasets, the distributed sampler and the threaded loader.
# It needs OpenCV (decoding) and sgmim_synth (the embedded synthetic dataset); both come from libopencv-dev.
if(OpenCV_FOUND AND TARGET sgmim_synth)
  target_sources(sgmim PRIVATE
    ${CMAKE_CURRENT_LIST_DIR}/image_decode.cpp
    ${CMAKE_CURRENT_LIST_DIR}/joint_transform.cpp
    ${CMAKE_CURRENT_LIST_DIR}/knowledge_dataset.cpp
    ${CMAKE_CURRENT_LIST_DIR}/distributed_sampler.cpp
    ${CMAKE_CURRENT_LIST_DIR}/knowledge_loader.cpp
  )
  target_include_directories(sgmim SYSTEM PUBLIC ${OpenCV_INCLUDE_DIRS})
  target_link_libraries(sgmim PUBLIC opencv_core opencv_imgproc opencv_imgcodecs sgmim_synth)
  target_link_libraries(sgmim PRIVATE nlohmann_json::nlohmann_json)
  target_compile_definitions(sgmim PUBLIC SGMIM_WITH_DATA=1)
  message(STATUS "sgmim: data pipeline (sgmim::data) with OpenCV ${OpenCV_VERSION}")
else()
  message(STATUS "sgmim: OpenCV (libopencv-dev) or sgmim_synth not found, the data pipeline (sgmim::data) is skipped")
endif()
