# The data pipelines (include/sgmim/data): image/knowledge-map decoding with OpenCV, the pre-training joint
# augmentation, the ImageFolder/MultiMAE and synthetic datasets, the distributed sampler, the one loader (ordered
# prefetch pool, bad-sample policy) and the pre-training batch; the KITTI / NYU-v2 depth datasets, their augmentation and loader; the ADE20K segmentation
# dataset, its mmseg transforms and loader; .npy/.npz reading (zlib)
# for the Middlebury real-data fixture. It needs OpenCV (decoding) and sgmim_synth (the embedded synthetic dataset);
# both come from libopencv-dev, which also brings zlib1g-dev. The fast decoders of the pre-training loader use
# libdeflate and libjpeg-turbo (below).
if(OpenCV_FOUND AND TARGET sgmim_synth)
  sgmim_folder_sources(_sources EXCEPT npy.cpp middlebury.cpp)
  target_sources(sgmim PRIVATE ${_sources})
  target_include_directories(sgmim SYSTEM PUBLIC ${OpenCV_INCLUDE_DIRS})
  target_link_libraries(sgmim PUBLIC opencv_core opencv_imgproc opencv_imgcodecs sgmim_synth)
  target_link_libraries(sgmim PRIVATE nlohmann_json::nlohmann_json)
  target_compile_definitions(sgmim PUBLIC SGMIM_WITH_DATA=1)
  message(STATUS "sgmim: data pipeline (sgmim::data) with OpenCV ${OpenCV_VERSION}")
  # The fast reader of 16-bit knowledge-map PNGs (data/png_gray16.h) inflates with libdeflate (Debian libdeflate-dev,
  # which has a pkg-config file but no CMake package in Debian 12); without it every map goes through OpenCV.
  find_package(PkgConfig QUIET)
  if(PkgConfig_FOUND)
    pkg_check_modules(SGMIM_LIBDEFLATE QUIET IMPORTED_TARGET GLOBAL libdeflate)
  endif()
  if(SGMIM_LIBDEFLATE_FOUND)
    target_link_libraries(sgmim PRIVATE PkgConfig::SGMIM_LIBDEFLATE)
    # The switch is this one file's (it needs no torch: outside the unity batches and the precompiled header), so that
    # finding libdeflate or not changes no other object file.
    set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/png_gray16.cpp PROPERTIES
                                COMPILE_DEFINITIONS SGMIM_WITH_LIBDEFLATE=1 SKIP_UNITY_BUILD_INCLUSION ON
                                SKIP_PRECOMPILE_HEADERS ON)
    message(STATUS "sgmim: knowledge maps through libdeflate ${SGMIM_LIBDEFLATE_VERSION}")
  else()
    sgmim_dependency_missing(libdeflate libdeflate-dev "knowledge maps are decoded by OpenCV alone (slower)")
  endif()
  # The JPEG row decoder (data/jpeg_rows.h) calls libjpeg-turbo, the library OpenCV decodes JPEGs with (Debian
  # libjpeg62-turbo-dev, pkg-config libjpeg); without it every JPEG is decoded whole by OpenCV.
  if(PkgConfig_FOUND)
    pkg_check_modules(SGMIM_LIBJPEG QUIET IMPORTED_TARGET GLOBAL libjpeg)
  endif()
  if(SGMIM_LIBJPEG_FOUND)
    target_link_libraries(sgmim PRIVATE PkgConfig::SGMIM_LIBJPEG)
    set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/jpeg_rows.cpp PROPERTIES
                                COMPILE_DEFINITIONS SGMIM_WITH_LIBJPEG=1 SKIP_UNITY_BUILD_INCLUSION ON
                                SKIP_PRECOMPILE_HEADERS ON)
    message(STATUS "sgmim: JPEG rows through libjpeg ${SGMIM_LIBJPEG_VERSION}")
  else()
    sgmim_dependency_missing(libjpeg-turbo libjpeg62-turbo-dev "JPEGs are decoded whole by OpenCV (slower)")
  endif()
  find_package(ZLIB QUIET)
  if(ZLIB_FOUND)
    target_sources(sgmim PRIVATE ${CMAKE_CURRENT_LIST_DIR}/npy.cpp ${CMAKE_CURRENT_LIST_DIR}/middlebury.cpp)
    target_link_libraries(sgmim PRIVATE ZLIB::ZLIB)
    target_compile_definitions(sgmim PUBLIC SGMIM_WITH_NPZ=1)
  else()
    sgmim_dependency_missing(zlib zlib1g-dev ".npz reading and the Middlebury fixture are skipped")
  endif()
else()
  sgmim_dependency_missing("OpenCV 4 or sgmim_synth" libopencv-dev "the data pipeline (sgmim::data) is skipped")
endif()
