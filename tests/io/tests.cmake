# Weight files (our own, torch.save checkpoints from Python, safetensors; their key maps; sgmim-convert), the encoder transfer and, with OpenCV, the depth PNGs (src/io; the segmentation PNGs are tested with
# the segmentation evaluation in tests/eval).
set(_sgmim_io_tests io/state_dict_test.cpp io/torch_pickle_test.cpp io/checkpoint_keys_test.cpp io/encoder_transfer_test.cpp io/position_bias_resize_test.cpp
                     io/safetensors_test.cpp io/weights_convert_test.cpp io/tar_archive_test.cpp)
if("SGMIM_WITH_DEPTH_PNG=1" IN_LIST SGMIM_DEFINITIONS)
  list(APPEND _sgmim_io_tests io/depth_png_test.cpp)
endif()
sgmim_test(io_test ${_sgmim_io_tests})
