# End-to-end runs of the apps (tests/e2e): they need the binaries built first.
if(SGMIM_WITH_TRAINER AND SGMIM_BUILD_APPS AND TARGET sgmim-synth)
  sgmim_test(pretrain_e2e_test e2e/pretrain_e2e_test.cpp)
  add_dependencies(pretrain_e2e_test sgmim-pretrain sgmim-synth)
  sgmim_test_apps(pretrain_e2e_test SGMIM_PRETRAIN_BIN sgmim-pretrain SGMIM_SYNTH_BIN sgmim-synth)
endif()

if(SGMIM_WITH_TRAINER AND SGMIM_BUILD_APPS)
  sgmim_test(finetune_depth_e2e_test e2e/finetune_depth_e2e_test.cpp)
  add_dependencies(finetune_depth_e2e_test sgmim-pretrain sgmim-finetune-depth sgmim-eval)
  sgmim_test_apps(finetune_depth_e2e_test SGMIM_PRETRAIN_BIN sgmim-pretrain SGMIM_FINETUNE_BIN sgmim-finetune-depth
                  SGMIM_EVAL_BIN sgmim-eval)
endif()

if(SGMIM_WITH_TRAINER AND SGMIM_BUILD_APPS AND TARGET sgmim-finetune-seg)
  sgmim_test(finetune_seg_e2e_test e2e/finetune_seg_e2e_test.cpp)
  add_dependencies(finetune_seg_e2e_test sgmim-pretrain sgmim-finetune-seg sgmim-eval)
  sgmim_test_apps(finetune_seg_e2e_test SGMIM_PRETRAIN_BIN sgmim-pretrain SGMIM_FINETUNE_SEG_BIN sgmim-finetune-seg
                  SGMIM_EVAL_BIN sgmim-eval)
endif()

# The GPU check's dry run (scripts/device/gpu-check.sh --dry-run): the plan, every step and the documented table
# header, on any machine (docs/gpu.md).
add_test(NAME gpu_check_dry_run
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/e2e/gpu_check_dry_run_test.sh ${PROJECT_SOURCE_DIR})

if(SGMIM_WITH_TRAINER AND SGMIM_BUILD_APPS)
  sgmim_test(analyze_e2e_test e2e/analyze_e2e_test.cpp)
  add_dependencies(analyze_e2e_test sgmim-analyze)
  sgmim_test_apps(analyze_e2e_test SGMIM_ANALYZE_BIN sgmim-analyze)
endif()

# The transfer experiment at its tiny scale (scripts/experiments/transfer.sh --scale tiny; docs/experiments.md).
if(SGMIM_WITH_TRAINER AND SGMIM_BUILD_APPS AND TARGET sgmim-synth)
  add_test(NAME experiment_transfer_smoke
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/e2e/transfer_smoke_test.sh ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
  set_tests_properties(experiment_transfer_smoke PROPERTIES TIMEOUT 600)
endif()
