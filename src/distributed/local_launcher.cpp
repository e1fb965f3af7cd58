#include "sgmim/distributed/local_launcher.h"

#include "sgmim/error.h"
#include "sgmim/log.h"

#include <arpa/inet.h>
#include <csignal>
#include <cstring>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <set>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace sgmim::distributed {

namespace {

/// Variables the launcher owns. An outer torchrun's agent-store flags would point the workers at a store that
/// does not know this world, so they are dropped too.
const std::set<std::string> kOwnedVariables = {"RANK",        "LOCAL_RANK",  "WORLD_SIZE",
                                               "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT",
                                               "TORCHELASTIC_USE_AGENT_STORE", "TORCHELASTIC_RESTART_COUNT",
                                               "GROUP_RANK", "ROLE_RANK"};

constexpr const char* kLoopback = "127.0.0.1";

std::string variable_name(const char* entry) {
  const char* eq = std::strchr(entry, '=');
  return eq ? std::string(entry, eq) : std::string(entry);
}

/// The environment of worker `rank`, built before fork (only async-signal-safe calls are allowed after it).
std::vector<std::string> worker_environment(const LaunchOptions& o, int rank, int port) {
  std::vector<std::string> out;
  bool omp_set = o.env.count("OMP_NUM_THREADS") > 0;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string name = variable_name(*e);
    if (kOwnedVariables.count(name) || o.env.count(name)) continue;
    if (name == "OMP_NUM_THREADS") omp_set = true;
    out.emplace_back(*e);
  }
  for (const auto& [name, value] : o.env)
    if (!kOwnedVariables.count(name)) out.push_back(name + "=" + value);
  out.push_back("RANK=" + std::to_string(rank));
  out.push_back("LOCAL_RANK=" + std::to_string(rank));
  out.push_back("WORLD_SIZE=" + std::to_string(o.nproc));
  out.push_back("LOCAL_WORLD_SIZE=" + std::to_string(o.nproc));
  out.push_back("MASTER_ADDR=" + std::string(kLoopback));
  out.push_back("MASTER_PORT=" + std::to_string(port));
  // N processes with one OpenMP pool of all cores each would oversubscribe the machine (torchrun does the same).
  if (!omp_set) out.push_back("OMP_NUM_THREADS=1");
  return out;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

std::string describe(const WorkerExit& w) {
  std::string s = "rank " + std::to_string(w.rank) + " (pid " + std::to_string(w.pid) + ") ";
  if (w.signal != 0) return s + "was killed by signal " + std::to_string(w.signal) + " (" + strsignal(w.signal) + ")";
  return s + "exited with code " + std::to_string(w.exit_code);
}

}  // namespace

int free_tcp_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw Error(std::string("free_tcp_port: socket() failed: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const std::string why = std::strerror(errno);
    ::close(fd);
    throw Error("free_tcp_port: bind() failed: " + why);
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

LaunchResult launch_workers(const LaunchOptions& o) {
  if (o.nproc < 1) raise_invalid_value("--nproc-per-node", std::to_string(o.nproc), "expected a positive integer");
  if (o.argv.empty()) throw Error("launch_workers: argv is empty (argv[0] must name the program)");
  const int port = o.master_port > 0 ? o.master_port : free_tcp_port();
  const std::string executable = o.executable.empty() ? "/proc/self/exe" : o.executable;

  // Everything the children need is allocated here, before fork.
  std::vector<std::string> argv_strings = o.argv;
  std::vector<char*> argv = c_strings(argv_strings);
  std::vector<std::vector<std::string>> env_strings;
  std::vector<std::vector<char*>> envs;
  for (int r = 0; r < o.nproc; ++r) env_strings.push_back(worker_environment(o, r, port));
  for (auto& e : env_strings) envs.push_back(c_strings(e));
  const std::string exec_failed = "sgmim: cannot execute " + executable + "\n";
  const pid_t parent = ::getpid();

  LaunchResult result;
  result.workers.resize(o.nproc);
  std::vector<bool> running(o.nproc, false);
  for (int r = 0; r < o.nproc; ++r) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      // Child: die with the launcher rather than outlive it, start from a clean signal mask, then exec.
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != parent) ::_exit(128 + SIGTERM);
      sigset_t none;
      sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      ::execve(executable.c_str(), argv.data(), envs[r].data());
      const ssize_t ignored = ::write(STDERR_FILENO, exec_failed.data(), exec_failed.size());
      (void)ignored;
      ::_exit(127);
    }
    if (pid < 0) {
      const std::string why = std::strerror(errno);
      for (int k = 0; k < r; ++k) ::kill(result.workers[k].pid, SIGKILL);
      for (int k = 0; k < r; ++k) ::waitpid(result.workers[k].pid, nullptr, 0);
      throw Error("launch_workers: fork() failed for rank " + std::to_string(r) + ": " + why);
    }
    result.workers[r].rank = r;
    result.workers[r].pid = pid;
    running[r] = true;
  }

  // Poll every child so that other children of the caller are never reaped here.
  int live = o.nproc;
  bool stopping = false;
  const auto never = std::chrono::steady_clock::time_point::max();
  auto kill_deadline = never;
  const auto launch_deadline = o.timeout.count() > 0 ? std::chrono::steady_clock::now() + o.timeout : never;
  auto stop_all = [&] {
    stopping = true;
    for (int k = 0; k < o.nproc; ++k)
      if (running[k]) ::kill(result.workers[k].pid, SIGTERM);
    kill_deadline = std::chrono::steady_clock::now() + o.grace;
  };
  while (live > 0) {
    bool reaped = false;
    for (int r = 0; r < o.nproc; ++r) {
      if (!running[r]) continue;
      int status = 0;
      const pid_t got = ::waitpid(result.workers[r].pid, &status, WNOHANG);
      if (got == 0 || (got < 0 && errno == EINTR)) continue;
      running[r] = false;
      --live;
      reaped = true;
      WorkerExit& w = result.workers[r];
      if (got < 0) {
        w.exit_code = 255;  // lost the child (someone else reaped it): count it as a failure
      } else if (WIFSIGNALED(status)) {
        w.signal = WTERMSIG(status);
      } else {
        w.exit_code = WEXITSTATUS(status);
      }
      if (w.ok() || result.first_failed_rank >= 0) continue;
      result.first_failed_rank = r;
      result.exit_code = w.signal != 0 ? 128 + w.signal : w.exit_code;
      log::error("sgmim launcher: " + describe(w) + (o.stop_on_failure && live > 0 ? "; stopping the other workers" : ""));
      if (o.stop_on_failure && live > 0 && !stopping) stop_all();
    }
    if (live == 0) break;
    const auto now = std::chrono::steady_clock::now();
    if (!result.timed_out && now >= launch_deadline) {
      result.timed_out = true;
      log::error("sgmim launcher: workers still running after " + std::to_string(o.timeout.count() / 1000) +
                 " s; stopping them");
      if (!stopping) stop_all();
    }
    if (stopping && now >= kill_deadline) {
      for (int k = 0; k < o.nproc; ++k)
        if (running[k]) ::kill(result.workers[k].pid, SIGKILL);
      kill_deadline = never;
    }
    if (!reaped) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }

  if (result.timed_out && result.exit_code == 0) result.exit_code = 124;
  if (result.first_failed_rank >= 0)
    log::error("sgmim launcher: " + std::to_string(o.nproc) + " workers, first failure: " +
               describe(result.workers[result.first_failed_rank]));
  return result;
}

int launch_local_workers(int nproc, const std::vector<std::string>& argv, int master_port) {
  LaunchOptions o;
  o.nproc = nproc;
  o.argv = argv;
  o.master_port = master_port;
  return launch_workers(o).exit_code;
}

int relaunch_with_local_workers(int nproc, int argc, char** argv, std::optional<int> master_port) {
  std::vector<std::string> args;
  for (int i = 0; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--nproc-per-node") {
      ++i;  // and its value
      continue;
    }
    if (a.rfind("--nproc-per-node=", 0) == 0) continue;
    args.push_back(a);
  }
  return launch_local_workers(nproc, args, master_port ? *master_port : free_tcp_port());
}

}  // namespace sgmim::distributed
