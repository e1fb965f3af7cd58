# sgmim-synth: writes the embedded synthetic dataset in a real on-disk format. Torch-free, so it does not use
# sgmim_app() (which links the torch library).
if(TARGET sgmim_synth)
  add_executable(sgmim-synth ${CMAKE_CURRENT_SOURCE_DIR}/synth_main.cpp)
  target_link_libraries(sgmim-synth PRIVATE sgmim_synth CLI11::CLI11)
endif()
