# End-to-end runs of the apps (tests/e2e): they need the binaries built first.
if(SGMIM_WITH_TRAINER AND SGMIM_BUILD_APPS AND TARGET sgmim-synth)
  sgmim_test(pretrain_e2e_test e2e/pretrain_e2e_test.cpp e2e/torchrun_e2e_test.cpp e2e/webdataset_e2e_test.cpp)
  add_dependencies(pretrain_e2e_test sgmim-pretrain sgmim-synth)
  sgmim_test_apps(pretrain_e2e_test SGMIM_PRETRAIN_BIN sgmim-pretrain SGMIM_SYNTH_BIN sgmim-synth)
  if(TARGET sgmim-pack)  # e2e/webdataset_e2e_test.cpp packs the demo's tree with it
    add_dependencies(pretrain_e2e_test sgmim-pack)
    sgmim_test_apps(pretrain_e2e_test SGMIM_PACK_BIN sgmim-pack)
  endif()
  # The torchrun of this build's LibTorch for e2e/torchrun_e2e_test.cpp (docs/distributed.md "Which torchrun goes
  # with which build"): a wheel's LibTorch (the 2.x lane: Torch_DIR under <env>/lib/pythonX.Y/site-packages/torch/)
  # has its torchrun in <env>/bin; Debian's (/usr) has /usr/bin/torchrun from python3-torch. The tests skip, saying
  # why, when that file is missing; no other torchrun goes with the build.
  set(SGMIM_TORCHRUN "" CACHE FILEPATH
      "torchrun of this build's LibTorch for the torchrun e2e tests (empty: the wheel's, or Debian's)")
  set(_torchrun "${SGMIM_TORCHRUN}")
  set(_torchrun_owner "the torchrun given by SGMIM_TORCHRUN")
  if(NOT _torchrun AND Torch_DIR MATCHES "^(.*)/lib/python[^/]*/site-packages/torch/")
    set(_torchrun "${CMAKE_MATCH_1}/bin/torchrun")
    set(_torchrun_owner "the torchrun of the torch ${Torch_VERSION} wheel's environment ${CMAKE_MATCH_1}")
  elseif(NOT _torchrun AND Torch_DIR MATCHES "^/usr/")
    set(_torchrun "/usr/bin/torchrun")
    set(_torchrun_owner "Debian's torchrun (package python3-torch)")
  endif()
  target_compile_definitions(pretrain_e2e_test PRIVATE SGMIM_TORCHRUN="${_torchrun}"
                             SGMIM_TORCHRUN_OWNER="${_torchrun_owner}")
  message(STATUS "sgmim: torchrun e2e tests with ${_torchrun_owner}: ${_torchrun}")
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

# sgmim-pack (docs/datasets.md §12.2): help, bad flags, a tiny tree, resume, two processes, the demo.
if(TARGET sgmim-pack)
  sgmim_test(pack_e2e_test e2e/pack_e2e_test.cpp)
  add_dependencies(pack_e2e_test sgmim-pack)
  sgmim_test_apps(pack_e2e_test SGMIM_PACK_BIN sgmim-pack)
  if(TARGET sgmim-pretrain)  # the demo's shards through a pre-training run, with the command the demo prints
    add_dependencies(pack_e2e_test sgmim-pretrain)
    sgmim_test_apps(pack_e2e_test SGMIM_PRETRAIN_BIN sgmim-pretrain)
  endif()
endif()
