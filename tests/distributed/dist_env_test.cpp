// resolve_dist_env against fake environments: torchrun, SLURM (host lists, tasks per node, derived port),
// precedence (command line > torchrun > SLURM > single) and errors that name the variable.
#include "sgmim/distributed/dist_env.h"
#include "sgmim/error.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

using namespace sgmim::distributed;

namespace {

using Vars = std::map<std::string, std::string>;

DistEnv resolve(const Vars& vars, const DistOverrides& overrides = {}) {
  return resolve_dist_env(overrides, [&vars](const char* name) -> const char* {
    const auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  });
}

/// The Error::key() of the failure, or "<no error>".
std::string error_key(const Vars& vars, const DistOverrides& overrides = {}) {
  try {
    resolve(vars, overrides);
  } catch (const sgmim::Error& e) {
    EXPECT_NE(std::string(e.what()).find(e.key()), std::string::npos) << "the message must name " << e.key();
    return e.key();
  }
  return "<no error>";
}

const Vars kTorchrun = {{"RANK", "5"},          {"WORLD_SIZE", "16"},  {"LOCAL_RANK", "1"},
                        {"LOCAL_WORLD_SIZE", "8"}, {"MASTER_ADDR", "10.1.2.3"}, {"MASTER_PORT", "29511"},
                        {"TORCHELASTIC_USE_AGENT_STORE", "True"}, {"TORCHELASTIC_RESTART_COUNT", "2"}};

const Vars kSlurm = {{"SLURM_PROCID", "6"},       {"SLURM_NTASKS", "8"},
                     {"SLURM_LOCALID", "2"},      {"SLURM_NODEID", "1"},
                     {"SLURM_STEP_TASKS_PER_NODE", "4(x2)"}, {"SLURM_JOB_NODELIST", "gpu[03-05,09]"},
                     {"SLURM_JOB_ID", "1234567"}};

}  // namespace

TEST(DistEnv, NoLauncherIsASingleProcess) {
  const auto env = resolve({});
  EXPECT_EQ(env.rank, 0);
  EXPECT_EQ(env.world_size, 1);
  EXPECT_FALSE(env.distributed());
  EXPECT_EQ(env.source, "single");
  EXPECT_EQ(env.master_addr, "127.0.0.1");
  EXPECT_EQ(env.master_port, 29500);
}

TEST(DistEnv, Torchrun) {
  const auto env = resolve(kTorchrun);
  EXPECT_EQ(env.source, "torchrun");
  EXPECT_EQ(env.rank, 5);
  EXPECT_EQ(env.world_size, 16);
  EXPECT_EQ(env.local_rank, 1);
  EXPECT_EQ(env.local_world_size, 8);
  EXPECT_EQ(env.master_addr, "10.1.2.3");
  EXPECT_EQ(env.master_port, 29511);
  EXPECT_TRUE(env.use_agent_store);
  EXPECT_EQ(env.restart_count, 2);
  EXPECT_TRUE(env.distributed());
}

TEST(DistEnv, TorchrunDefaultsWithoutLocalVariables) {
  const auto env = resolve({{"RANK", "1"}, {"WORLD_SIZE", "2"}});
  EXPECT_EQ(env.local_rank, 1);  // set by hand: one node assumed
  EXPECT_EQ(env.local_world_size, 2);
  EXPECT_EQ(env.master_addr, "127.0.0.1");
  EXPECT_EQ(env.master_port, 29500);
  EXPECT_FALSE(env.use_agent_store);
  EXPECT_FALSE(resolve({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"TORCHELASTIC_USE_AGENT_STORE", "False"}}).use_agent_store);
}

TEST(DistEnv, Slurm) {
  const auto env = resolve(kSlurm);
  EXPECT_EQ(env.source, "slurm");
  EXPECT_EQ(env.rank, 6);
  EXPECT_EQ(env.world_size, 8);
  EXPECT_EQ(env.local_rank, 2);
  EXPECT_EQ(env.local_world_size, 4);
  EXPECT_EQ(env.master_addr, "gpu03");
  EXPECT_EQ(env.master_port, 15000 + 4567);  // last four digits of the job id + 15000
}

TEST(DistEnv, SlurmMasterVariablesWin) {
  Vars vars = kSlurm;
  vars["MASTER_ADDR"] = "login1";
  vars["MASTER_PORT"] = "40000";
  const auto env = resolve(vars);
  EXPECT_EQ(env.master_addr, "login1");
  EXPECT_EQ(env.master_port, 40000);
}

TEST(DistEnv, SlurmTasksPerNodeForms) {
  Vars vars = kSlurm;
  vars["SLURM_STEP_TASKS_PER_NODE"] = "2(x3),1";  // node 1 runs 2 tasks, node 3 runs 1
  vars["SLURM_LOCALID"] = "0";
  EXPECT_EQ(resolve(vars).local_world_size, 2);
  vars["SLURM_NODEID"] = "3";
  EXPECT_EQ(resolve(vars).local_world_size, 1);
  vars.erase("SLURM_STEP_TASKS_PER_NODE");
  vars["SLURM_NTASKS_PER_NODE"] = "4";  // a single value applies to every node
  EXPECT_EQ(resolve(vars).local_world_size, 4);
  EXPECT_EQ(expand_tasks_per_node("2(x3),1", "X"), (std::vector<int>{2, 2, 2, 1}));
  EXPECT_EQ(expand_tasks_per_node("8", "X"), (std::vector<int>{8}));
}

TEST(DistEnv, NodelistFirstHost) {
  EXPECT_EQ(first_host_of_nodelist("gpu[03-05,09]"), "gpu03");
  EXPECT_EQ(first_host_of_nodelist("a1,b2"), "a1");
  EXPECT_EQ(first_host_of_nodelist("node7"), "node7");
  EXPECT_EQ(first_host_of_nodelist("gpu[12,03-05],cpu[1-2]"), "gpu12");
  EXPECT_EQ(first_host_of_nodelist("rack[2-3]-n[007-010]"), "rack2-n007");
  EXPECT_THROW(first_host_of_nodelist("gpu[03-05"), sgmim::Error);
  EXPECT_THROW(first_host_of_nodelist(""), sgmim::Error);
  EXPECT_THROW(first_host_of_nodelist("gpu[]"), sgmim::Error);
  Vars vars = kSlurm;
  vars["SLURM_JOB_NODELIST"] = "a1,b2";
  EXPECT_EQ(resolve(vars).master_addr, "a1");
}

TEST(DistEnv, TorchrunWinsOverSlurm) {
  Vars vars = kSlurm;  // torchrun started by srun: each srun task is one torchrun agent
  for (const auto& [k, v] : kTorchrun) vars[k] = v;
  const auto env = resolve(vars);
  EXPECT_EQ(env.source, "torchrun");
  EXPECT_EQ(env.rank, 5);
  EXPECT_EQ(env.world_size, 16);
  EXPECT_EQ(env.local_world_size, 8);
}

TEST(DistEnv, CommandLineWinsOverEverything) {
  Vars vars = kSlurm;
  for (const auto& [k, v] : kTorchrun) vars[k] = v;
  DistOverrides o;
  o.rank = 3;
  o.world_size = 4;
  o.master_addr = "cli-host";
  o.master_port = 31000;
  const auto env = resolve(vars, o);
  EXPECT_EQ(env.source, "cli");
  EXPECT_EQ(env.rank, 3);
  EXPECT_EQ(env.world_size, 4);
  EXPECT_EQ(env.master_addr, "cli-host");
  EXPECT_EQ(env.master_port, 31000);
  EXPECT_EQ(env.local_rank, 1);  // not overridden: still torchrun's

  DistOverrides only_port;
  only_port.master_port = 31001;
  const auto port_only = resolve(kSlurm, only_port);
  EXPECT_EQ(port_only.source, "slurm");
  EXPECT_EQ(port_only.master_port, 31001);
}

TEST(DistEnv, CommandLineWithoutLauncherDescribesOneNode) {
  DistOverrides o;
  o.rank = 1;
  o.world_size = 2;
  const auto env = resolve({}, o);
  EXPECT_EQ(env.source, "cli");
  EXPECT_EQ(env.local_rank, 1);
  EXPECT_EQ(env.local_world_size, 2);
}

TEST(DistEnv, BadValuesNameTheVariable) {
  EXPECT_EQ(error_key({{"RANK", "abc"}, {"WORLD_SIZE", "2"}}), "RANK");
  EXPECT_EQ(error_key({{"RANK", "1"}, {"WORLD_SIZE", "2x"}}), "WORLD_SIZE");
  EXPECT_EQ(error_key({{"RANK", "1"}, {"WORLD_SIZE", "0"}}), "WORLD_SIZE");
  EXPECT_EQ(error_key({{"RANK", "2"}, {"WORLD_SIZE", "2"}}), "RANK");  // rank >= world
  EXPECT_EQ(error_key({{"RANK", "-1"}, {"WORLD_SIZE", "2"}}), "RANK");
  EXPECT_EQ(error_key({{"RANK", "1"}}), "WORLD_SIZE");                 // half a torchrun environment
  EXPECT_EQ(error_key({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"LOCAL_RANK", "x"}}), "LOCAL_RANK");
  EXPECT_EQ(error_key({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"LOCAL_RANK", "3"}, {"LOCAL_WORLD_SIZE", "2"}}),
            "LOCAL_RANK");
  EXPECT_EQ(error_key({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_PORT", "70000"}}), "MASTER_PORT");
  EXPECT_EQ(error_key({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_PORT", "port"}}), "MASTER_PORT");
  EXPECT_EQ(error_key({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"TORCHELASTIC_USE_AGENT_STORE", "maybe"}}),
            "TORCHELASTIC_USE_AGENT_STORE");
  EXPECT_EQ(error_key({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"TORCHELASTIC_RESTART_COUNT", "1.5"}}),
            "TORCHELASTIC_RESTART_COUNT");

  Vars slurm = kSlurm;
  slurm["SLURM_PROCID"] = "8";
  EXPECT_EQ(error_key(slurm), "SLURM_PROCID");
  slurm = kSlurm;
  slurm["SLURM_NTASKS"] = "eight";
  EXPECT_EQ(error_key(slurm), "SLURM_NTASKS");
  slurm = kSlurm;
  slurm["SLURM_JOB_NODELIST"] = "gpu[01";
  EXPECT_EQ(error_key(slurm), "SLURM_JOB_NODELIST");
  slurm = kSlurm;
  slurm.erase("SLURM_JOB_NODELIST");
  EXPECT_EQ(error_key(slurm), "SLURM_JOB_NODELIST");  // nowhere to find the master
  slurm = kSlurm;
  slurm["SLURM_STEP_TASKS_PER_NODE"] = "4(x2";
  EXPECT_EQ(error_key(slurm), "SLURM_STEP_TASKS_PER_NODE");
  slurm = kSlurm;
  slurm["SLURM_NODEID"] = "2";  // only two nodes in 4(x2)
  EXPECT_EQ(error_key(slurm), "SLURM_NODEID");

  DistOverrides o;
  o.rank = 4;
  EXPECT_EQ(error_key(kTorchrun, o), "<no error>");  // 4 < 16
  o.world_size = 4;
  EXPECT_EQ(error_key(kTorchrun, o), "--rank");
  DistOverrides port;
  port.master_port = 0;
  EXPECT_EQ(error_key({}, port), "--master-port");
}
