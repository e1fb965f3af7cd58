# Tests of the data pipelines; built only where src/data/sources.cmake added them to sgmim.
# data_test: the pre-training pipeline and the ADE20K segmentation pipeline (real sample in tests/fixtures).
# depth_data_test: the depth datasets, their augmentation and loader, the prefetch pool, .npz reading and the
# Middlebury real-data fixture (fetched by scripts/fetch-test-data.sh into .deps/test-data; its test skips without it).
if("SGMIM_WITH_DATA=1" IN_LIST SGMIM_DEFINITIONS AND TARGET sgmim_synth)
  sgmim_test(data_test
    data/image_decode_test.cpp
    data/joint_transform_test.cpp
    data/knowledge_dataset_test.cpp
    data/distributed_sampler_test.cpp
    data/knowledge_loader_test.cpp
    data/seg_transforms_test.cpp
    data/ade20k_dataset_test.cpp
    data/seg_loader_test.cpp
    data/png_gray16_test.cpp
  )
  # The fast decoders of the pre-training loader against OpenCV's whole decodes: the PNG test writes its files with
  # zlib; the JPEG test encodes 4:2:2 / 4:4:4 / progressive files with libjpeg-turbo (src/data/sources.cmake).
  find_package(ZLIB REQUIRED)
  target_link_libraries(data_test PRIVATE ZLIB::ZLIB)
  if(TARGET PkgConfig::SGMIM_LIBJPEG)
    target_sources(data_test PRIVATE data/jpeg_rows_test.cpp)
    target_link_libraries(data_test PRIVATE PkgConfig::SGMIM_LIBJPEG)
  endif()
  set(_depth_data_tests data/depth_dataset_test.cpp data/depth_loader_test.cpp)
  if("SGMIM_WITH_NPZ=1" IN_LIST SGMIM_DEFINITIONS)
    list(APPEND _depth_data_tests data/middlebury_test.cpp)
  endif()
  sgmim_test(depth_data_test ${_depth_data_tests})
  # shard_test: WebDataset shards (docs/datasets.md §12): the index, packing and reading; every data/shard_*_test.cpp.
  file(GLOB _shard_tests CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/data/shard_*_test.cpp)
  sgmim_test(shard_test ${_shard_tests})
  sgmim_test_path(_test_data depth_data_test ${PROJECT_SOURCE_DIR}/.deps/test-data)
  target_compile_definitions(depth_data_test PRIVATE SGMIM_TEST_DATA_DIR="${_test_data}")
  if("SGMIM_WITH_NPZ=1" IN_LIST SGMIM_DEFINITIONS)
    find_package(ZLIB REQUIRED)  # imported targets are directory-scoped: look it up here too
    target_link_libraries(depth_data_test PRIVATE ZLIB::ZLIB)  # the test re-derives the disparity with zlib itself
    # A missing fixture skips on a developer's machine and fails with CI=true (tests/support/fixture_required.h).
    set(_no_fixture "SGMIM_TEST_DATA_DIR=${CMAKE_CURRENT_BINARY_DIR}/no-test-data")
    add_test(NAME missing_fixture_fails_with_ci
             COMMAND depth_data_test --gtest_filter=MiddleburyTest.MotorcycleDepthFromRealDisparity)
    set_tests_properties(missing_fixture_fails_with_ci PROPERTIES ENVIRONMENT "CI=true;${_no_fixture}"
                         PASS_REGULAR_EXPRESSION "missing with CI=true.*the Middlebury fixture is not in")
    add_test(NAME missing_fixture_skips_without_ci
             COMMAND depth_data_test --gtest_filter=MiddleburyTest.MotorcycleDepthFromRealDisparity)
    set_tests_properties(missing_fixture_skips_without_ci PROPERTIES ENVIRONMENT "CI=false;${_no_fixture}"
                         PASS_REGULAR_EXPRESSION "\\[  SKIPPED \\] 1 test")
  endif()
endif()
