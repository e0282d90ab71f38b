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
  void publish();  // start a new generation and wake sleeping workers

  int n_threads_;
  std::vector<std::thread> workers_;
  // generation_ changes under mu_ (so a worker about to sleep cannot miss it), read lock-free.
  std::atomic<std::uint64_t> generation_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
  Thunk thunk_ = nullptr;
  void* ctx_ = nullptr;
  std::exception_ptr error_;
  std::atomic<bool> has_error_{false};
};

// Splits [0, M) into `parts` contiguous ranges whose starts are multiples of `multiple` and whose
// sizes differ by at most one multiple. Range i is [out[i], out[i+1]).
std::vector<std::int64_t> split_rows(std::int64_t M, int parts, std::int64_t multiple);

}  // namespace tritbench
