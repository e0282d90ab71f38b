#include "kernels/runtime/thread_pool.h"

#include <immintrin.h>

#include <stdexcept>

namespace tritbench {

namespace {
// About 50-100 us of pause before blocking: covers the gap between a model's consecutive GEMMs
// without burning a core for long when the machine is oversubscribed.
constexpr int kSpinIterations = 1 << 13;
// Past this many pauses a spinning thread also yields every kYieldEvery pauses: on an oversubscribed
// machine (more runnable threads than cores) the thread it waits for may be queued behind it, and a
// pure pause loop would burn the rest of its time slice first. On an idle machine sched_yield
// returns at once, so short waits cost the same as before.
constexpr int kSpinBeforeYield = 1 << 10;
constexpr int kYieldEvery = 1 << 7;

inline void backoff(int spin) {
  _mm_pause();
  if (spin >= kSpinBeforeYield && spin % kYieldEvery == 0) std::this_thread::yield();
}
}

ThreadPool::ThreadPool(int n_threads) : n_threads_(n_threads) {
  if (n_threads < 1) throw std::invalid_argument("ThreadPool: thread count must be >= 1");
  for (int i = 1; i < n_threads; ++i) workers_.emplace_back([this, i] { worker(i); });
}

void ThreadPool::publish() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    generation_.fetch_add(1, std::memory_order_release);
  }
  cv_.notify_all();
}

ThreadPool::~ThreadPool() {
  stop_.store(true);
  publish();
  for (auto& t : workers_) t.join();
}

void ThreadPool::run_impl(Thunk thunk, void* ctx) {
  if (n_threads_ == 1) {
    thunk(ctx, 0);
    return;
  }
  thunk_ = thunk;
  ctx_ = ctx;
  has_error_.store(false);
  error_ = nullptr;
  pending_.store(n_threads_ - 1, std::memory_order_relaxed);
  publish();
  try {
    thunk(ctx, 0);
  } catch (...) {
    if (!has_error_.exchange(true)) error_ = std::current_exception();
  }
  for (int spin = 0; pending_.load(std::memory_order_acquire) != 0; ++spin) backoff(spin);
  if (error_) std::rethrow_exception(error_);
}

void ThreadPool::worker(int index) {
  // Generation 0 is the one at construction. Reading generation_ here instead would lose the
  // first job when run() is called before this thread gets scheduled.
  std::uint64_t seen = 0;
  for (;;) {
    std::uint64_t g = generation_.load(std::memory_order_acquire);
    for (int spin = 0; g == seen && spin < kSpinIterations; ++spin) {
      backoff(spin);
      g = generation_.load(std::memory_order_acquire);
    }
    if (g == seen) {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
      continue;
    }
    seen = g;
    if (stop_.load()) return;
    try {
      thunk_(ctx_, index);
    } catch (...) {
      if (!has_error_.exchange(true)) error_ = std::current_exception();
    }
    pending_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

std::vector<std::int64_t> split_rows(std::int64_t M, int parts, std::int64_t multiple) {
  std::vector<std::int64_t> b(parts + 1, M);
  const std::int64_t units = (M + multiple - 1) / multiple;
  b[0] = 0;
  for (int i = 1; i < parts; ++i) b[i] = std::min(M, units * i / parts * multiple);
  return b;
}

}  // namespace tritbench
