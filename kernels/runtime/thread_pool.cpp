#include "kernels/runtime/thread_pool.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

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
  set_shares(std::vector<double>(static_cast<std::size_t>(n_threads), 1.0));
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

double ThreadPool::share(int t) const { return share_.at(static_cast<std::size_t>(t)); }

void ThreadPool::set_shares(const std::vector<double>& shares) {
  if (static_cast<int>(shares.size()) != n_threads_)
    throw std::invalid_argument("ThreadPool::set_shares: " + std::to_string(shares.size()) +
                                " shares for " + std::to_string(n_threads_) + " threads");
  double sum = 0;
  for (double x : shares) {
    if (!(x > 0) || !std::isfinite(x))
      throw std::invalid_argument("ThreadPool::set_shares: shares must be positive");
    sum += x;
  }
  const auto T = static_cast<std::size_t>(n_threads_);
  share_.resize(T);
  prefix_.assign((T + 1 + 7) / 8, PrefixLine{});
  double acc = 0;
  for (std::size_t t = 0; t < T; ++t) {
    share_[t] = shares[t] / sum;
    acc += share_[t];
    prefix(static_cast<int>(t) + 1) =
        static_cast<std::uint64_t>(std::llround(acc * static_cast<double>(kOne)));
  }
  prefix(n_threads_) = kOne;
  window_units_.assign(T, 0);
  window_ticks_.assign(T, 0);
}

// Once the caller's tasks of balanced runs add up to about a millisecond: each thread's speed over
// the window (units per tick), and its share moved halfway towards its part of the summed speeds
// (the halfway step damps the noise of single windows), kept within [1/(2T), 3/(2T)] so that a
// thread stalled for a whole window does not lose its work for the next ones.
void ThreadPool::rebalance() {
  constexpr std::uint64_t kWindowTicks = std::uint64_t{1} << 21;  // about 1 ms at 2 GHz
  if (window_ticks_[0] < kWindowTicks) return;
  const auto T = static_cast<std::size_t>(n_threads_);
  std::vector<double> speed(T);
  double sum = 0;
  for (std::size_t t = 0; t < T; ++t) {
    if (window_units_[t] == 0 || window_ticks_[t] == 0) {  // a thread without work: start over
      window_units_.assign(T, 0);
      window_ticks_.assign(T, 0);
      return;
    }
    speed[t] = static_cast<double>(window_units_[t]) / static_cast<double>(window_ticks_[t]);
    sum += speed[t];
  }
  std::vector<double> next(T);
  const double lo = 0.5 / static_cast<double>(T), hi = 1.5 / static_cast<double>(T);
  for (std::size_t t = 0; t < T; ++t)
    next[t] = std::clamp(0.5 * (share_[t] + speed[t] / sum), lo, hi);
  set_shares(next);
}

void ThreadPool::run_task(int i) {
  TaskStamp* st = stamps_ ? stamps_ + i : nullptr;
  if (st) st->start_ns = now_ns();
  try {
    if (const std::uint64_t units = job_.units) {
      const std::int64_t u0 = cut(units, i), u1 = cut(units, i + 1);
      const std::uint64_t t0 = __rdtsc();
      if (u0 < u1) job_.range(job_.fn, i, u0, u1);
      const std::uint64_t ticks = __rdtsc() - t0;
      if (i == 0)
        caller_ticks_ = ticks;
      else
        done_[i].ticks = ticks;
    } else {
      job_.thunk(job_.fn, i);
    }
  } catch (...) {
    record_error();
  }
  if (st) st->end_ns = now_ns();
}

void ThreadPool::run_impl(Thunk thunk, RangeThunk range, const void* fn, std::size_t bytes,
                          std::int64_t units) {
  if (n_threads_ == 1 && !stamps_ && thunk) {
    thunk(fn, 0);
    return;
  }
  // Every worker finished the previous generation (the wait below), so nothing reads these now.
  if (units > 0)
    job_.range = range;
  else
    job_.thunk = thunk;
  job_.units = static_cast<std::uint32_t>(units);
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
  if (units > 0) {
    for (int i = 0; i < n_threads_; ++i) {
      const auto t = static_cast<std::size_t>(i);
      window_units_[t] += static_cast<std::uint64_t>(cut(static_cast<std::uint64_t>(units), i + 1) -
                                                     cut(static_cast<std::uint64_t>(units), i));
      window_ticks_[t] += i == 0 ? caller_ticks_ : done_[i].ticks;
    }
    rebalance();
  }
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
