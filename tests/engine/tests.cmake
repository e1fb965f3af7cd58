# Engine tests beyond the schedules and groups of engine_test: checkpoints, optimizer state, the training loop.
sgmim_test(checkpoint_test engine/checkpoint_test.cpp engine/optimizer_state_test.cpp)
if(SGMIM_WITH_TRAINER)
  sgmim_test(trainer_test engine/reconstruction_grid_test.cpp engine/pretrain_trainer_test.cpp
                          engine/depth_evaluation_test.cpp engine/depth_trainer_test.cpp)
endif()
