#pragma once
// One persistent pool of worker threads shared by kernels and the model.
//
// Decode-time GEMVs take tens of microseconds, so a pool that sleeps in the kernel between calls
// would spend a large part of each call on wake-ups. Workers therefore spin (with pause) for a
// short while after each job and only then block on a condition variable. The calling
// thread runs task 0 itself. Tasks are fixed to threads (task i on thread i). run() splits work
// however its caller says; run_balanced() cuts a range of units by the speed it measured for each
// thread, for work whose results do not depend on which thread computes which units (the GEMV
// and GEMM row splits: every row is computed the same way wherever a range starts).

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
    if constexpr (fits_inline<Fn>() && std::is_invocable_v<const Fn&, int>) {
      run_impl(&invoke_inline<Fn>, nullptr, &fn, sizeof(Fn), 0);
    } else {
      auto* p = &fn;
      run_impl(&invoke_indirect<std::remove_reference_t<F>>, nullptr, &p, sizeof(p), 0);
    }
  }

  // Calls fn(t, u0, u1) on thread t for the contiguous ranges [u0, u1) that cut [0, units) in
  // thread order, each thread's range sized by the speed the pool measured for it in earlier
  // balanced runs (units per unit of time over a window of about a millisecond of the caller's
  // tasks; equal at first). On a machine whose cores run at different speeds, which on a VM can
  // change from minute to minute, equal ranges leave the faster thread waiting at every join.
  // Empty ranges are not called. Same functor rules as run(). For work whose results do not
  // depend on which thread computes which units.
  template <class F>
  void run_balanced(std::int64_t units, F&& fn) {
    using Fn = std::remove_cvref_t<F>;
    if (units <= 0) return;
    if (n_threads_ == 1) {
      fn(0, std::int64_t{0}, units);
      return;
    }
    if (units > std::int64_t{UINT32_MAX}) {  // beyond the job's count: equal ranges
      run([&](int t) {
        const std::int64_t u0 = units / n_threads_ * t,
                           u1 = t + 1 == n_threads_ ? units : units / n_threads_ * (t + 1);
        if (u0 < u1) fn(t, u0, u1);
      });
      return;
    }
    if constexpr (fits_inline<Fn>() &&
                  std::is_invocable_v<const Fn&, int, std::int64_t, std::int64_t>) {
      run_impl(nullptr, &invoke_range_inline<Fn>, &fn, sizeof(Fn), units);
    } else {
      auto* p = &fn;
      run_impl(nullptr, &invoke_range_indirect<std::remove_reference_t<F>>, &p, sizeof(p), units);
    }
  }

  // Thread t's share of a balanced run's units (the shares sum to 1).
  double share(int t) const;
  // Sets the shares (one per thread, positive; normalized here) and restarts the measurement:
  // for tests, and for callers that know their threads' speeds. Between runs only.
  void set_shares(const std::vector<double>& shares);

 private:
  using Thunk = void (*)(const void*, int);
  using RangeThunk = void (*)(const void*, int, std::int64_t, std::int64_t);
  template <class Fn>
  static constexpr bool fits_inline() {
    return sizeof(Fn) <= kInlineBytes && alignof(Fn) <= 8 && std::is_trivially_copyable_v<Fn>;
  }
  template <class F>
  static void invoke_inline(const void* f, int i) {
    (*static_cast<const F*>(f))(i);
  }
  template <class F>
  static void invoke_indirect(const void* f, int i) {
    (**static_cast<F* const*>(f))(i);
  }
  template <class F>
  static void invoke_range_inline(const void* f, int i, std::int64_t u0, std::int64_t u1) {
    (*static_cast<const F*>(f))(i, u0, u1);
  }
  template <class F>
  static void invoke_range_indirect(const void* f, int i, std::int64_t u0, std::int64_t u1) {
    (**static_cast<F* const*>(f))(i, u0, u1);
  }
  // A run of thunk, or (units > 0) a balanced run of range over that many units.
  void run_impl(Thunk thunk, RangeThunk range, const void* fn, std::size_t bytes,
                std::int64_t units);
  void run_task(int i);
  // Start of thread t's range of a balanced run of `units` (t in [0, size()]).
  std::int64_t cut(std::uint64_t units, int t) const {
    return static_cast<std::int64_t>((units * prefix(t) + kOne / 2) >> kShareBits);
  }
  void rebalance();
  void worker(int index);
  void record_error();

  // A run costs at least two cache-line transfers between cores (measured here: ~270 ns each
  // way): the caller's line with the job, and each worker's own line saying it is done. Everything
  // a worker reads to start a job sits in `Job`, the functor too when it fits (any pointer the
  // worker follows into memory the caller wrote for this call is one more transfer, in series),
  // and nothing the caller spins on shares a line with anything another thread writes.
  struct alignas(64) Job {  // written by the caller only; generation last (a seq_cst store)
    std::atomic<std::uint64_t> generation{0};
    union {
      Thunk thunk = nullptr;
      RangeThunk range;  // of a balanced run
    };
    bool stop = false;
    std::uint32_t units = 0;                    // a balanced run's units, else 0
    alignas(8) unsigned char fn[kInlineBytes];  // the functor, or a pointer to it
  };
  static_assert(sizeof(Job) == 64, "the job is one cache line");
  struct alignas(64) Done {                    // written by its worker only, generation last
    std::atomic<std::uint64_t> generation{0};  // the last generation it finished
    std::uint64_t ticks = 0;  // its task's time in that generation, if balanced (TSC ticks)
  };

  // Shares in fixed point: prefix(t) = (threads 0..t-1's shares) * 2^16, prefix(size()) = 2^16,
  // kept in whole cache lines of their own: every task reads them, and a line shared with the
  // caller's per-run counters would be one more transfer between cores per run.
  static constexpr int kShareBits = 16;
  static constexpr std::uint64_t kOne = std::uint64_t{1} << kShareBits;
  struct alignas(64) PrefixLine {
    std::uint64_t v[8];
  };
  std::uint64_t& prefix(int t) { return prefix_[static_cast<std::size_t>(t / 8)].v[t % 8]; }
  std::uint64_t prefix(int t) const { return prefix_[static_cast<std::size_t>(t / 8)].v[t % 8]; }

  int n_threads_;
  // Read by every task of a run, written only between runs (before the generation that publishes
  // the run, so a worker that saw the generation sees it): shared in every cache, not a transfer.
  TaskStamp* stamps_ = nullptr;
  std::vector<PrefixLine> prefix_;  // rewritten once per window of balanced runs
  Job job_;
  std::unique_ptr<Done[]> done_;
  // The caller's alone (written every balanced run, so on a line no worker reads): the shares as
  // doubles, and the window's units and ticks per thread.
  alignas(64) std::uint64_t caller_ticks_ = 0;  // task 0's ticks in the current balanced run
  std::vector<double> share_;
  std::vector<std::uint64_t> window_units_, window_ticks_;
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
