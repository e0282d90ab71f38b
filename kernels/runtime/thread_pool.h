#pragma once
// One persistent pool of worker threads shared by kernels and the model.
//
// Decode-time GEMVs take tens of microseconds, so a pool that sleeps in the kernel between calls
// would spend a large part of each call on wake-ups. Workers therefore spin (with pause) for a
// short while after each job and only then block on a condition variable. The calling
// thread runs task 0 itself. Tasks are fixed to threads (task i on thread i), so which rows a
// thread computes never depends on timing.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
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

  // Where a run's time goes, for benchmarks that show it (`tritbench kernels --anatomy`): while
  // recording, run() stamps on thread i, into stamps[i], the steady clock right before and right
  // after task i. Set between runs; stamps must hold size() entries and outlive the recording
  // (nullptr stops it). One untaken branch per task otherwise. A pool of one thread stamps too,
  // but callers with one thread usually skip the pool altogether (for_ranges, the GEMM runtime).
  struct alignas(64) TaskStamp {  // one line per thread: written by that thread only
    std::int64_t start_ns = 0, end_ns = 0;
  };
  void record_tasks(TaskStamp* stamps) { stamps_ = stamps; }
  static std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

  // Bytes of a functor that travel inside the job's cache line (see Job).
  static constexpr std::size_t kInlineBytes = 40;

  // Calls fn(i) for i in [0, size()) concurrently, i on thread i (0 = the caller); returns when
  // all are done. An exception thrown by any fn is rethrown here (the first one). Not reentrant.
  // A trivially copyable fn of at most kInlineBytes is copied into the job itself, so a worker
  // reads it without another transfer from the caller's core: for short calls, capture values and
  // pointers to long-lived objects, not references to the caller's locals (each is one more
  // dependent cache miss on the worker's way to its first instruction of real work).
  template <class F>
  void run(F&& fn) {
    using Fn = std::remove_cvref_t<F>;
    if constexpr (sizeof(Fn) <= kInlineBytes && alignof(Fn) <= 8 &&
                  std::is_trivially_copyable_v<Fn> && std::is_invocable_v<const Fn&, int>) {
      run_impl(&invoke_inline<Fn>, &fn, sizeof(Fn));
    } else {
      auto* p = &fn;
      run_impl(&invoke_indirect<std::remove_reference_t<F>>, &p, sizeof(p));
    }
  }

 private:
  using Thunk = void (*)(const void*, int);
  template <class F>
  static void invoke_inline(const void* f, int i) {
    (*static_cast<const F*>(f))(i);
  }
  template <class F>
  static void invoke_indirect(const void* f, int i) {
    (**static_cast<F* const*>(f))(i);
  }
  void run_impl(Thunk thunk, const void* fn, std::size_t bytes);
  void run_task(int i);
  void worker(int index);
  void record_error();

  // A run costs at least two cache-line transfers between cores (measured here: ~270 ns each
  // way): the caller's line with the job, and each worker's own line saying it is done. Everything
  // a worker reads to start a job sits in `Job`, the functor too when it fits (any pointer the
  // worker follows into memory the caller wrote for this call is one more transfer, in series),
  // and nothing the caller spins on shares a line with anything another thread writes.
  struct alignas(64) Job {  // written by the caller only; generation last (a seq_cst store)
    std::atomic<std::uint64_t> generation{0};
    Thunk thunk = nullptr;
    bool stop = false;
    alignas(8) unsigned char fn[kInlineBytes];  // the functor, or a pointer to it
  };
  static_assert(sizeof(Job) == 64, "the job is one cache line");
  struct alignas(64) Done {  // written by its worker only: the last generation it finished
    std::atomic<std::uint64_t> generation{0};
  };

  int n_threads_;
  // Read by every task of a run, written only between runs (before the generation that publishes
  // the run, so a worker that saw the generation sees it): shared in every cache, not a transfer.
  TaskStamp* stamps_ = nullptr;
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

// Start of range i of split_rows(M, parts, multiple), i in [0, parts]: computed where it is
// needed, so a worker of a short call does not read the bounds from the caller's memory.
inline std::int64_t split_start(std::int64_t M, int parts, std::int64_t multiple, int i) {
  if (i == 0) return 0;
  if (i >= parts) return M;
  const std::int64_t units = (M + multiple - 1) / multiple;
  return std::min(M, units * i / parts * multiple);
}

// Calls f(i0, i1) over [0, n) cut into pool->size() contiguous ranges (split_start with multiple
// 1), range t on thread t; on the caller alone without a pool, with one thread, or for n < 2.
template <class F>
void for_ranges(ThreadPool* pool, std::int64_t n, const F& f) {
  const int T = pool ? pool->size() : 1;
  if (T == 1 || n < 2) {
    f(std::int64_t{0}, n);
    return;
  }
  pool->run([&f, n, T](int t) {
    const std::int64_t i0 = split_start(n, T, 1, t), i1 = split_start(n, T, 1, t + 1);
    if (i0 < i1) f(i0, i1);
  });
}

}  // namespace tritbench
