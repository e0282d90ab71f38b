#include "kernels/runtime/thread_pool.h"

#include <immintrin.h>

#include <cstring>
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
  done_ = std::make_unique<Done[]>(static_cast<std::size_t>(n_threads));
  for (int i = 1; i < n_threads; ++i) workers_.emplace_back([this, i] { worker(i); });
}

ThreadPool::~ThreadPool() {
  job_.stop = true;
  job_.generation.fetch_add(1, std::memory_order_seq_cst);
  {
    std::lock_guard<std::mutex> lock(mu_);
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::record_error() {
  std::lock_guard<std::mutex> lock(error_mu_);
  if (!error_) error_ = std::current_exception();
}

void ThreadPool::run_task(int i) {
  TaskStamp* st = stamps_ ? stamps_ + i : nullptr;
  if (st) st->start_ns = now_ns();
  try {
    job_.thunk(job_.fn, i);
  } catch (...) {
    record_error();
  }
  if (st) st->end_ns = now_ns();
}

void ThreadPool::run_impl(Thunk thunk, const void* fn, std::size_t bytes) {
  if (n_threads_ == 1 && !stamps_) {
    thunk(fn, 0);
    return;
  }
  // Every worker finished the previous generation (the wait below), so nothing reads these now.
  job_.thunk = thunk;
  std::memcpy(job_.fn, fn, bytes);
  error_ = nullptr;
  const std::uint64_t g = job_.generation.load(std::memory_order_relaxed) + 1;
  job_.generation.store(g, std::memory_order_seq_cst);
  if (sleepers_.load(std::memory_order_seq_cst) > 0) {
    // Taking the mutex orders this after any sleeper's predicate check, so the notify is not lost.
    { std::lock_guard<std::mutex> lock(mu_); }
    cv_.notify_all();
  }
  run_task(0);
  for (int i = 1; i < n_threads_; ++i)
    for (int spin = 0; done_[i].generation.load(std::memory_order_acquire) != g; ++spin) backoff(spin);
  if (error_) std::rethrow_exception(error_);
}

void ThreadPool::worker(int index) {
  // Generation 0 is the one at construction. Reading generation here instead would lose the
  // first job when run() is called before this thread gets scheduled.
  std::uint64_t seen = 0;
  for (;;) {
    std::uint64_t g = job_.generation.load(std::memory_order_acquire);
    for (int spin = 0; g == seen && spin < kSpinIterations; ++spin) {
      backoff(spin);
      g = job_.generation.load(std::memory_order_acquire);
    }
    if (g == seen) {
      sleepers_.fetch_add(1, std::memory_order_seq_cst);
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return job_.generation.load(std::memory_order_seq_cst) != seen; });
      }
      sleepers_.fetch_sub(1, std::memory_order_relaxed);
      continue;
    }
    seen = g;
    if (job_.stop) return;
    run_task(index);
    done_[index].generation.store(g, std::memory_order_release);
  }
}

std::vector<std::int64_t> split_rows(std::int64_t M, int parts, std::int64_t multiple) {
  std::vector<std::int64_t> b(parts + 1);
  for (int i = 0; i <= parts; ++i) b[i] = split_start(M, parts, multiple, i);
  return b;
}

}  // namespace tritbench
