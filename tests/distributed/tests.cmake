# Distributed tests (included by tests/CMakeLists.txt; paths relative to tests/). The multi-process cases start
# distributed_worker through the launcher; each worker leaves its results in a temporary directory.
add_executable(distributed_worker distributed/worker_main.cpp)
target_link_libraries(distributed_worker PRIVATE sgmim)
sgmim_torch_target(distributed_worker)

sgmim_test(distributed_test
  distributed/dist_env_test.cpp
  distributed/process_group_test.cpp
  distributed/local_launcher_test.cpp
  distributed/collective_check_test.cpp
)
add_dependencies(distributed_test distributed_worker)
sgmim_test_apps(distributed_test SGMIM_DIST_WORKER distributed_worker)
