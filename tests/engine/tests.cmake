# The training engine (src/engine): schedules, parameter groups, layer decay, checkpoints and optimizer state; with
# the data pipeline the loop itself (pre-training and depth tasks, resume, NaN guard) and the evaluation passes.
sgmim_test(engine_test
  engine/lr_schedule_test.cpp
  engine/param_groups_test.cpp
  engine/warmup_poly_schedule_test.cpp
  engine/layer_decay_test.cpp
  engine/poly_schedule_test.cpp
  engine/checkpoint_test.cpp
  engine/optimizer_state_test.cpp
  engine/fused_adamw_test.cpp
)
if(SGMIM_WITH_TRAINER)
  sgmim_test(trainer_test engine/reconstruction_grid_test.cpp engine/pretrain_trainer_test.cpp
                          engine/depth_evaluation_test.cpp engine/depth_trainer_test.cpp
                          engine/seg_evaluation_test.cpp engine/five_steps_test.cpp engine/mim_depth_parity_test.cpp)
  sgmim_test_path(_configs trainer_test ${PROJECT_SOURCE_DIR}/configs)
  target_compile_definitions(trainer_test PRIVATE SGMIM_CONFIGS_DIR="${_configs}")
endif()
