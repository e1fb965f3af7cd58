# The training engine: schedules, parameter groups and layer decay, checkpoints and optimizer state, fault injection
# always; the config bridge where the config library exists; the shared loop, the tasks (pre-training, depth,
# segmentation), their evaluation passes and sgmim-eval's use case (evaluate_checkpoint) where the data pipeline
# (OpenCV), the config and the run reports exist.
target_sources(sgmim PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/lr_schedule.cpp
  ${CMAKE_CURRENT_LIST_DIR}/param_groups.cpp
  ${CMAKE_CURRENT_LIST_DIR}/layer_decay.cpp
  ${CMAKE_CURRENT_LIST_DIR}/poly_schedule.cpp
  ${CMAKE_CURRENT_LIST_DIR}/warmup_poly_schedule.cpp
  ${CMAKE_CURRENT_LIST_DIR}/checkpoint.cpp
  ${CMAKE_CURRENT_LIST_DIR}/optimizer_state.cpp
  ${CMAKE_CURRENT_LIST_DIR}/fused_adamw.cpp
  ${CMAKE_CURRENT_LIST_DIR}/debug_hooks.cpp
  ${CMAKE_CURRENT_LIST_DIR}/auxiliary_output.cpp  # warn-and-go-on for grids, metrics, TensorBoard, PNGs
)
if(TARGET sgmim_config)
  target_sources(sgmim PRIVATE ${CMAKE_CURRENT_LIST_DIR}/pretrainer_from_config.cpp)
  target_link_libraries(sgmim PUBLIC sgmim_config)
  target_compile_definitions(sgmim PUBLIC SGMIM_WITH_CONFIG=1)
endif()
if(OpenCV_FOUND AND TARGET sgmim_synth AND TARGET sgmim_config AND TARGET sgmim_report)
  target_sources(sgmim PRIVATE
    ${CMAKE_CURRENT_LIST_DIR}/reconstruction_grid.cpp
    ${CMAKE_CURRENT_LIST_DIR}/training_run.cpp
    ${CMAKE_CURRENT_LIST_DIR}/fit.cpp
    ${CMAKE_CURRENT_LIST_DIR}/finetune_model.cpp
    ${CMAKE_CURRENT_LIST_DIR}/evaluation_pass.cpp
    ${CMAKE_CURRENT_LIST_DIR}/synthetic_dataset.cpp
    ${CMAKE_CURRENT_LIST_DIR}/pretrain_trainer.cpp
    ${CMAKE_CURRENT_LIST_DIR}/depth_evaluation.cpp
    ${CMAKE_CURRENT_LIST_DIR}/depth_trainer.cpp
    ${CMAKE_CURRENT_LIST_DIR}/seg_evaluation.cpp
    ${CMAKE_CURRENT_LIST_DIR}/seg_trainer.cpp
    ${CMAKE_CURRENT_LIST_DIR}/evaluate_checkpoint.cpp
  )
  target_link_libraries(sgmim PUBLIC sgmim_report)
  target_link_libraries(sgmim PRIVATE nlohmann_json::nlohmann_json)
  target_compile_definitions(sgmim PUBLIC SGMIM_WITH_TRAINER=1)
  set(SGMIM_WITH_TRAINER ON CACHE INTERNAL "the training engine is built")
else()
  sgmim_dependency_missing("OpenCV, yaml-cpp or the report library" "libopencv-dev libyaml-cpp-dev"
                           "the training engine and its apps are skipped")
  set(SGMIM_WITH_TRAINER OFF CACHE INTERNAL "the training engine is built")
endif()
