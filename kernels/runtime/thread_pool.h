#pragma once
// One persistent pool of worker threads shared by kernels and the model.
//
// Decode-time GEMVs take tens of microseconds, so a pool that sleeps in the kernel between calls
// would spend a large part of each call on wake-ups. Workers therefore spin (with pause) for a
// short while after each job and only then block on a condition variable. The calling
// thread runs task 0 itself. Tasks are fixed to threads (task i on thread i), so which rows a
// thread computes never depends on timing.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <memory>
#include <thread>
#include <vector>

namespace tritbench {

class ThreadPool {
 public:
  // n_threads >= 1 counts the calling thread; n_threads - 1 workers are started.
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // Calls fn(i) for i in [0, size()) concurrently, i on thread i (0 = the caller); returns when
  // all are done. An exception thrown by any fn is rethrown here (the first one). Not reentrant.
  template <class F>
  void run(F&& fn) {
    run_impl(&invoke<std::remove_reference_t<F>>, &fn);
  }

 private:
  using Thunk = void (*)(void*, int);
  template <class F>
  static void invoke(void* f, int i) {
    (*static_cast<F*>(f))(i);
  }
  void run_impl(Thunk thunk, void* ctx);
  void worker(int index);
  void record_error();

  // A run costs two cache-line transfers between cores (measured here: ~270 ns each way): the
  // caller's line with the job, and each worker's own line saying it is done. Everything a worker
  // reads to start a job sits in `Job`, and nothing the caller spins on shares a line with
  // anything another thread writes.
  struct alignas(64) Job {  // written by the caller only; generation last (a seq_cst store)
    std::atomic<std::uint64_t> generation{0};
    Thunk thunk = nullptr;
    void* ctx = nullptr;
    bool stop = false;
  };
  struct alignas(64) Done {  // written by its worker only: the last generation it finished
    std::atomic<std::uint64_t> generation{0};
  };

  int n_threads_;
  Job job_;
  std::unique_ptr<Done[]> done_;
  // Workers about to block on cv_. The caller reads it after publishing a generation (both
  // seq_cst), so either it sees a sleeper and notifies, or the sleeper sees the new generation.
  alignas(64) std::atomic<int> sleepers_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  alignas(64) std::mutex error_mu_;
  std::exception_ptr error_;
  std::vector<std::thread> workers_;
};

// Splits [0, M) into `parts` contiguous ranges whose starts are multiples of `multiple` and whose
// sizes differ by at most one multiple. Range i is [out[i], out[i+1]).
std::vector<std::int64_t> split_rows(std::int64_t M, int parts, std::int64_t multiple);

}  // namespace tritbench
