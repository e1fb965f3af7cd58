// The threaded, ordered, bounded-prefetch core shared by the data loaders (knowledge_loader.h, depth_loader.h, seg_loader.h), the
// C++ counterpart of PyTorch DataLoader's worker processes: jobs first … count−1 of an epoch are made by W threads
// ahead of the consumer, at most `prefetch` per thread, and delivered strictly in job order.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

namespace sgmim::data {

/// Runs `job(k, stop)` for k = first, first + 1, …, count − 1 and hands the results out in that order. Worker w makes
/// jobs first + w, first + w + W, … into its own queue (at most `prefetch` results ahead); the consumer takes job k
/// from queue (k − first) mod W, so the order never depends on thread timing. With 0 workers next() runs the job in
/// the calling thread. A job that throws ends its worker; next() rethrows the exception at that job's position, and
/// again on every later call until the next start(). `stop` turns true when the results will not be read (a new
/// start(), stop(), the destructor): a long job may check it and return early with anything.
///
/// One consumer thread: start(), next(), stop() and the destructor must not race each other. T must be movable.
template <class T>
class PrefetchPool {
 public:
  using Job = std::function<T(int64_t job, const std::atomic<bool>& stop)>;

  PrefetchPool() = default;
  ~PrefetchPool() { stop(); }
  PrefetchPool(const PrefetchPool&) = delete;
  PrefetchPool& operator=(const PrefetchPool&) = delete;

  /// Stops the previous run (joining its threads), then starts jobs [first, count) on `workers` threads.
  void start(int64_t first, int64_t count, int64_t workers, int64_t prefetch, Job job) {
    if (workers < 0 || prefetch < 1 || first < 0) throw std::invalid_argument("PrefetchPool: bad workers/prefetch/first");
    stop();
    auto run = std::make_shared<Run>();
    run->first = first;
    run->next = first;
    run->count = count;
    run->workers = workers;
    run->prefetch = prefetch;
    run->job = std::move(job);
    run->queues.resize(static_cast<std::size_t>(workers));
    run_ = run;
    for (int64_t w = 0; w < workers; ++w) threads_.emplace_back([run, w] { work(*run, w); });
  }

  /// The next result in job order; nullopt after the last job. Rethrows a job's exception (see the class comment).
  /// Throws std::logic_error before the first start() and after stop().
  std::optional<T> next() {
    if (!run_) throw std::logic_error("PrefetchPool::next() before start()");
    Run& run = *run_;
    if (run.stop) throw std::logic_error("PrefetchPool::next() after stop()");
    if (run.failed) std::rethrow_exception(run.failed);
    if (run.next >= run.count) return std::nullopt;
    Result result;
    if (run.workers == 0) {
      result = make(run, run.next);
    } else {
      auto& queue = run.queues[static_cast<std::size_t>((run.next - run.first) % run.workers)];
      std::unique_lock<std::mutex> lock(run.mutex);
      run.changed.wait(lock, [&] { return !queue.empty(); });
      result = std::move(queue.front());
      queue.pop_front();
      lock.unlock();
      run.changed.notify_all();
    }
    ++run.next;
    if (result.error) {
      run.failed = result.error;
      std::rethrow_exception(run.failed);
    }
    return std::move(result.value);
  }

  /// Asks the workers to stop and joins them; the results not yet taken are dropped. Until the next start(), next()
  /// throws std::logic_error.
  void stop() {
    if (run_) {
      {
        std::lock_guard<std::mutex> lock(run_->mutex);
        run_->stop = true;
      }
      run_->changed.notify_all();
    }
    for (auto& thread : threads_) thread.join();
    threads_.clear();
  }

  bool started() const { return run_ != nullptr; }

 private:
  struct Result {
    std::optional<T> value;
    std::exception_ptr error;
  };

  // The state of one start(), shared with its threads (which may outlive a restart by the time they take to join).
  struct Run {
    int64_t first = 0, next = 0, count = 0, workers = 0, prefetch = 1;
    Job job;
    std::atomic<bool> stop{false};
    std::mutex mutex;
    std::condition_variable changed;
    std::vector<std::deque<Result>> queues;
    std::exception_ptr failed;  // the error delivered to the consumer, rethrown until the next start()
  };

  static Result make(Run& run, int64_t k) {
    Result result;
    try {
      result.value.emplace(run.job(k, run.stop));
    } catch (...) {
      result.error = std::current_exception();
    }
    return result;
  }

  static void work(Run& run, int64_t w) {
    auto& queue = run.queues[static_cast<std::size_t>(w)];
    for (int64_t k = run.first + w; k < run.count; k += run.workers) {
      {
        std::unique_lock<std::mutex> lock(run.mutex);
        run.changed.wait(lock, [&] { return run.stop.load() || static_cast<int64_t>(queue.size()) < run.prefetch; });
        if (run.stop) return;
      }
      Result result = make(run, k);
      if (run.stop) return;  // abandoned: nobody will read it
      const bool failed = result.error != nullptr;
      {
        std::lock_guard<std::mutex> lock(run.mutex);
        queue.push_back(std::move(result));
      }
      run.changed.notify_all();
      if (failed) return;  // the run is broken: the consumer rethrows at this job
    }
  }

  std::shared_ptr<Run> run_;
  std::vector<std::thread> threads_;
};

}  // namespace sgmim::data
