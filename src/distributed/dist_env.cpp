#include "sgmim/distributed/dist_env.h"

#include "sgmim/error.h"

#include <charconv>
#include <optional>
#include <string>
#include <vector>

namespace sgmim::distributed {

namespace {

using Getenv = std::function<const char*(const char*)>;

/// A variable's value; unset and empty both count as absent.
std::optional<std::string> lookup(const Getenv& getenv, const char* name) {
  const char* value = getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

/// The whole string as a decimal integer, or nullopt.
std::optional<int> to_int(const std::string& text) {
  int out = 0;
  const char* last = text.data() + text.size();
  const auto [end, ec] = std::from_chars(text.data(), last, out);
  if (ec != std::errc() || end != last) return std::nullopt;
  return out;
}

/// The whole string as a decimal integer >= `min` (0 or 1), else an Error naming `key`.
int parse_count(const std::string& key, const std::string& value, int min) {
  const auto count = to_int(value);
  if (!count || *count < min)
    raise_invalid_value(key, value, min == 0 ? "expected a non-negative integer" : "expected a positive integer");
  return *count;
}

int parse_port(const std::string& key, const std::string& value) {
  const auto port = to_int(value);
  if (!port || *port < 1 || *port > 65535) raise_invalid_value(key, value, "expected a TCP port in [1, 65535]");
  return *port;
}

/// torchrun writes str(True) / str(False); 1/0 and lower case are accepted too.
bool parse_bool(const std::string& key, const std::string& value) {
  if (value == "True" || value == "true" || value == "1") return true;
  if (value == "False" || value == "false" || value == "0") return false;
  raise_invalid_value(key, value, "expected True or False");
}

constexpr int kDefaultPort = 29500;

/// Which variable (or flag) set each field, so that range errors name it.
struct Keys {
  std::string rank = "rank", world_size = "world size", local_rank = "local rank", local_world_size = "local world size";
};

void resolve_torchrun(const Getenv& getenv, DistEnv& env, Keys& keys) {
  const auto rank = lookup(getenv, "RANK");
  const auto world = lookup(getenv, "WORLD_SIZE");
  if (!rank) raise_invalid_value("RANK", "<unset>", "required when WORLD_SIZE is set (torchrun sets both)");
  if (!world) raise_invalid_value("WORLD_SIZE", "<unset>", "required when RANK is set (torchrun sets both)");
  env.source = "torchrun";
  keys = {"RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE"};
  env.rank = parse_count("RANK", *rank, 0);
  env.world_size = parse_count("WORLD_SIZE", *world, 1);
  // Set by hand (RANK=1 WORLD_SIZE=2 ./app) without the local pair: assume one node.
  env.local_rank = env.rank;
  env.local_world_size = env.world_size;
  if (const auto v = lookup(getenv, "LOCAL_RANK")) env.local_rank = parse_count("LOCAL_RANK", *v, 0);
  if (const auto v = lookup(getenv, "LOCAL_WORLD_SIZE")) env.local_world_size = parse_count("LOCAL_WORLD_SIZE", *v, 1);
  if (const auto v = lookup(getenv, "MASTER_ADDR")) env.master_addr = *v;
  if (const auto v = lookup(getenv, "MASTER_PORT")) env.master_port = parse_port("MASTER_PORT", *v);
  if (const auto v = lookup(getenv, "TORCHELASTIC_USE_AGENT_STORE"))
    env.use_agent_store = parse_bool("TORCHELASTIC_USE_AGENT_STORE", *v);
  if (const auto v = lookup(getenv, "TORCHELASTIC_RESTART_COUNT"))
    env.restart_count = parse_count("TORCHELASTIC_RESTART_COUNT", *v, 0);
}

void resolve_slurm(const Getenv& getenv, DistEnv& env, Keys& keys) {
  env.source = "slurm";
  keys = {"SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID", "SLURM_STEP_TASKS_PER_NODE"};
  env.rank = parse_count("SLURM_PROCID", *lookup(getenv, "SLURM_PROCID"), 0);
  env.world_size = parse_count("SLURM_NTASKS", *lookup(getenv, "SLURM_NTASKS"), 1);
  env.local_rank = 0;
  if (const auto v = lookup(getenv, "SLURM_LOCALID")) env.local_rank = parse_count("SLURM_LOCALID", *v, 0);

  // Tasks on this node. The step's own list comes first: SLURM_NTASKS_PER_NODE is the sbatch option and is
  // inherited by steps that run fewer tasks.
  env.local_world_size = env.world_size;
  for (const char* name : {"SLURM_STEP_TASKS_PER_NODE", "SLURM_NTASKS_PER_NODE", "SLURM_TASKS_PER_NODE"}) {
    const auto v = lookup(getenv, name);
    if (!v) continue;
    const auto per_node = expand_tasks_per_node(*v, name);
    int node = 0;
    if (const auto id = lookup(getenv, "SLURM_NODEID")) node = parse_count("SLURM_NODEID", *id, 0);
    // A single entry applies to every node (the --ntasks-per-node form).
    if (per_node.size() == 1) node = 0;
    if (node >= static_cast<int>(per_node.size()))
      raise_invalid_value("SLURM_NODEID", std::to_string(node), std::string("expected a node index below the ") +
                                                                  std::to_string(per_node.size()) + " nodes of " + name);
    env.local_world_size = per_node[node];
    keys.local_world_size = name;
    break;
  }

  if (const auto v = lookup(getenv, "MASTER_ADDR")) {
    env.master_addr = *v;
  } else if (const auto nodes = lookup(getenv, "SLURM_JOB_NODELIST")) {
    env.master_addr = first_host_of_nodelist(*nodes);
  } else if (env.world_size > 1) {
    raise_invalid_value("SLURM_JOB_NODELIST", "<unset>", "required to find the master host when MASTER_ADDR is unset");
  }

  if (const auto v = lookup(getenv, "MASTER_PORT")) {
    env.master_port = parse_port("MASTER_PORT", *v);
  } else if (const auto job = lookup(getenv, "SLURM_JOB_ID")) {
    // Every task of a job derives the same port; different jobs on a shared node rarely collide.
    const int id = parse_count("SLURM_JOB_ID", *job, 0);
    env.master_port = 15000 + id % 10000;
  }
}

void apply_overrides(const DistOverrides& o, DistEnv& env, Keys& keys) {
  const bool world_from_cli = o.rank.has_value() || o.world_size.has_value();
  if (world_from_cli && env.source == "single") {
    // No launcher: the flags describe a single-node world unless they say otherwise.
    env.rank = o.rank.value_or(0);
    env.world_size = o.world_size.value_or(1);
    env.local_rank = env.rank;
    env.local_world_size = env.world_size;
    keys.local_rank = "--rank";
    keys.local_world_size = "--world-size";
  }
  if (world_from_cli) env.source = "cli";
  if (o.rank) {
    if (*o.rank < 0) raise_invalid_value("--rank", std::to_string(*o.rank), "expected a non-negative integer");
    env.rank = *o.rank;
    keys.rank = "--rank";
  }
  if (o.world_size) {
    if (*o.world_size < 1) raise_invalid_value("--world-size", std::to_string(*o.world_size), "expected a positive integer");
    env.world_size = *o.world_size;
    keys.world_size = "--world-size";
  }
  if (o.local_rank) {
    if (*o.local_rank < 0) raise_invalid_value("--local-rank", std::to_string(*o.local_rank), "expected a non-negative integer");
    env.local_rank = *o.local_rank;
    keys.local_rank = "--local-rank";
  }
  if (o.master_addr) {
    if (o.master_addr->empty()) raise_invalid_value("--master-addr", "\"\"", "expected a host name or address");
    env.master_addr = *o.master_addr;
  }
  if (o.master_port) env.master_port = parse_port("--master-port", std::to_string(*o.master_port));
}

}  // namespace

std::string first_host_of_nodelist(const std::string& nodelist) {
  // Grammar (Slurm hostlist): host ("," host)*, where a host is text with bracketed groups "[a-b,c]"; the first
  // host takes the first value of each group, keeping its zero padding.
  std::string host;
  size_t i = 0;
  while (i < nodelist.size() && nodelist[i] != ',') {
    if (nodelist[i] == ']') raise_invalid_value("SLURM_JOB_NODELIST", nodelist, "unbalanced ']'");
    if (nodelist[i] != '[') {
      host += nodelist[i++];
      continue;
    }
    const size_t close = nodelist.find(']', i);
    if (close == std::string::npos) raise_invalid_value("SLURM_JOB_NODELIST", nodelist, "unbalanced '['");
    const std::string group = nodelist.substr(i + 1, close - i - 1);
    const std::string first = group.substr(0, group.find_first_of(",-"));
    if (first.empty()) raise_invalid_value("SLURM_JOB_NODELIST", nodelist, "empty range in brackets");
    host += first;
    i = close + 1;
  }
  if (host.empty()) raise_invalid_value("SLURM_JOB_NODELIST", nodelist, "expected a host list such as node[01-04]");
  return host;
}

std::vector<int> expand_tasks_per_node(const std::string& value, const std::string& variable) {
  std::vector<int> out;
  size_t start = 0;
  while (start <= value.size()) {
    const size_t comma = value.find(',', start);
    const std::string item = value.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    // "N" or "N(xM)": N tasks on each of M nodes.
    const size_t paren = item.find("(x");
    auto bad = [&] { raise_invalid_value(variable, value, "expected a list such as 2(x3),1"); };
    const auto n = to_int(item.substr(0, paren));
    if (!n || *n < 1) bad();
    int repeat = 1;
    if (paren != std::string::npos) {
      if (item.size() < paren + 3 || item.back() != ')') bad();
      const auto times = to_int(item.substr(paren + 2, item.size() - paren - 3));
      if (!times || *times < 1) bad();
      repeat = *times;
    }
    out.insert(out.end(), repeat, *n);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

DistEnv resolve_dist_env(const DistOverrides& overrides, const Getenv& getenv) {
  DistEnv env;
  Keys keys;
  if (lookup(getenv, "RANK") || lookup(getenv, "WORLD_SIZE")) {
    resolve_torchrun(getenv, env, keys);
  } else if (lookup(getenv, "SLURM_PROCID") && lookup(getenv, "SLURM_NTASKS")) {
    resolve_slurm(getenv, env, keys);
  }
  apply_overrides(overrides, env, keys);

  if (env.rank >= env.world_size)
    raise_invalid_value(keys.rank, std::to_string(env.rank),
                        "expected a rank below " + keys.world_size + " = " + std::to_string(env.world_size));
  if (env.local_rank >= env.local_world_size)
    raise_invalid_value(keys.local_rank, std::to_string(env.local_rank),
                        "expected a local rank below " + keys.local_world_size + " = " + std::to_string(env.local_world_size));
  return env;
}

std::string to_string(const DistEnv& env) {
  return "rank " + std::to_string(env.rank) + "/" + std::to_string(env.world_size) + " (local " +
         std::to_string(env.local_rank) + "/" + std::to_string(env.local_world_size) + ") via " + env.source +
         ", master " + env.master_addr + ":" + std::to_string(env.master_port) +
         (env.use_agent_store ? ", agent store" : "") +
         (env.restart_count > 0 ? ", restart " + std::to_string(env.restart_count) : "");
}

}  // namespace sgmim::distributed
