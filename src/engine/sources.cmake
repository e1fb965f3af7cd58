# The training engine: schedules, parameter groups and layer decay, checkpoints and optimizer state, fault injection
# always; the config bridge where the config library exists; the shared loop, the tasks (pre-training, depth,
# segmentation), their evaluation passes and sgmim-eval's use case (evaluate_checkpoint) where the data pipeline
# (OpenCV), the config and the run reports exist.
set(_core lr_schedule.cpp param_groups.cpp layer_decay.cpp poly_schedule.cpp warmup_poly_schedule.cpp checkpoint.cpp
          optimizer_state.cpp fused_adamw.cpp debug_hooks.cpp
          auxiliary_output.cpp)  # warn-and-go-on for grids, metrics, TensorBoard, PNGs
list(TRANSFORM _core PREPEND ${CMAKE_CURRENT_LIST_DIR}/)
target_sources(sgmim PRIVATE ${_core})
if(TARGET sgmim_config)
  target_sources(sgmim PRIVATE ${CMAKE_CURRENT_LIST_DIR}/pretrainer_from_config.cpp)
  target_link_libraries(sgmim PUBLIC sgmim_config)
  target_compile_definitions(sgmim PUBLIC SGMIM_WITH_CONFIG=1)
endif()
if(OpenCV_FOUND AND TARGET sgmim_synth AND TARGET sgmim_config AND TARGET sgmim_report)
  # Every other file of the folder: the loop, the run, the tasks and their evaluations (a new task needs no edit here).
  sgmim_folder_sources(_trainer EXCEPT pretrainer_from_config.cpp)
  list(REMOVE_ITEM _trainer ${_core})
  target_sources(sgmim PRIVATE ${_trainer})
  target_link_libraries(sgmim PUBLIC sgmim_report)
  target_link_libraries(sgmim PRIVATE nlohmann_json::nlohmann_json)
  target_compile_definitions(sgmim PUBLIC SGMIM_WITH_TRAINER=1)
  set(SGMIM_WITH_TRAINER ON CACHE INTERNAL "the training engine is built")
else()
  sgmim_dependency_missing("OpenCV, yaml-cpp or the report library" "libopencv-dev libyaml-cpp-dev"
                           "the training engine and its apps are skipped")
  set(SGMIM_WITH_TRAINER OFF CACHE INTERNAL "the training engine is built")
endif()
