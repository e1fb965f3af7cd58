# The training engine: checkpoints and optimizer state always; the pre-training and depth fine-tuning loops where
# the data pipeline (OpenCV), the config and the run reports exist.
target_sources(sgmim PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/checkpoint.cpp
  ${CMAKE_CURRENT_LIST_DIR}/optimizer_state.cpp
  ${CMAKE_CURRENT_LIST_DIR}/debug_hooks.cpp
  ${CMAKE_CURRENT_LIST_DIR}/warmup_poly_schedule.cpp
)
if(OpenCV_FOUND AND TARGET sgmim_synth AND TARGET sgmim_config AND TARGET sgmim_report)
  target_sources(sgmim PRIVATE
    ${CMAKE_CURRENT_LIST_DIR}/reconstruction_grid.cpp
    ${CMAKE_CURRENT_LIST_DIR}/training_run.cpp
    ${CMAKE_CURRENT_LIST_DIR}/fit.cpp
    ${CMAKE_CURRENT_LIST_DIR}/synthetic_dataset.cpp
    ${CMAKE_CURRENT_LIST_DIR}/pretrain_trainer.cpp
    ${CMAKE_CURRENT_LIST_DIR}/depth_evaluation.cpp
    ${CMAKE_CURRENT_LIST_DIR}/depth_trainer.cpp
  )
  target_link_libraries(sgmim PUBLIC sgmim_report)
  target_compile_definitions(sgmim PUBLIC SGMIM_WITH_TRAINER=1)
  set(SGMIM_WITH_TRAINER ON CACHE INTERNAL "the pre-training engine is built")
else()
  message(STATUS "sgmim: OpenCV, yaml-cpp or the report library missing: the pre-training engine and sgmim-pretrain are skipped")
  set(SGMIM_WITH_TRAINER OFF CACHE INTERNAL "the pre-training engine is built")
endif()
