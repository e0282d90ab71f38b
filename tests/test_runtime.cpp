#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include "kernels/aligned.h"
#include "kernels/cpu/cpu.h"
#include "kernels/runtime/thread_pool.h"

namespace tritbench {
namespace {

TEST(ThreadPool, RunsEveryTaskOnceAndPropagatesExceptions) {
  for (int n : {1, 2, 3, 5}) {
    ThreadPool pool(n);
    for (int rep = 0; rep < 200; ++rep) {
      std::vector<std::atomic<int>> hits(n);
      pool.run([&](int i) { hits[i].fetch_add(1); });
      for (int i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1);
    }
    EXPECT_THROW(pool.run([&](int i) {
      if (i == n - 1) throw std::runtime_error("boom");
    }),
                 std::runtime_error);
    std::atomic<int> after{0};
    pool.run([&](int) { after.fetch_add(1); });  // still usable
    EXPECT_EQ(after.load(), n);
  }
  EXPECT_THROW(ThreadPool(0), std::invalid_argument);
}

// Workers block on the condition variable after a few hundred microseconds idle; a run must wake
// them (a lost notify would hang here and ctest's timeout would fail the test), including one
// whose job throws.
TEST(ThreadPool, WakesWorkersThatWentToSleep) {
  for (int n : {2, 3}) {
    ThreadPool pool(n);
    std::vector<int> sum(n, 0);
    for (int rep = 0; rep < 6; ++rep) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      pool.run([&](int i) { sum[i] += i + 1; });
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      EXPECT_THROW(pool.run([&](int i) {
        if (i == n - 1) throw std::runtime_error("boom");
      }),
                   std::runtime_error);
    }
    for (int i = 0; i < n; ++i) EXPECT_EQ(sum[i], 6 * (i + 1));
  }
}

// Functors up to kInlineBytes travel inside the job, larger or non-copyable ones by pointer: both
// must see the values they captured, on every thread, run after run.
TEST(ThreadPool, SmallAndLargeFunctorsSeeTheirCaptures) {
  ThreadPool pool(3);
  std::vector<std::int64_t> out(3);
  for (std::int64_t rep = 0; rep < 100; ++rep) {
    std::int64_t* o = out.data();
    const std::int64_t a = rep, b = 2 * rep, c = 3 * rep, d = 4 * rep;
    auto small = [o, a, b, c, d](int i) { o[i] = a + b + c + d + i; };  // 40 bytes: inline
    static_assert(sizeof(small) == ThreadPool::kInlineBytes);
    pool.run(small);
    for (int i = 0; i < 3; ++i) ASSERT_EQ(out[i], 10 * rep + i);
    const std::int64_t e = 5 * rep;
    auto large = [o, a, b, c, d, e](int i) { o[i] = a + b + c + d + e - i; };  // 48: by pointer
    pool.run(large);
    for (int i = 0; i < 3; ++i) ASSERT_EQ(out[i], 15 * rep - i);
    const std::vector<std::int64_t> v{rep, 7};  // not trivially copyable: by pointer
    pool.run([o, v](int i) { o[i] = v[0] * v[1] + i; });
    for (int i = 0; i < 3; ++i) ASSERT_EQ(out[i], 7 * rep + i);
  }
}

// for_ranges visits each index of [0, n) exactly once, in ranges of at least one index, with or
// without a pool.
TEST(ThreadPool, ForRangesCoversEachIndexOnce) {
  for (int threads : {0, 1, 2, 3}) {
    std::unique_ptr<ThreadPool> pool = threads ? std::make_unique<ThreadPool>(threads) : nullptr;
    for (std::int64_t n : {0, 1, 2, 5, 17}) {
      std::vector<std::atomic<int>> seen(static_cast<std::size_t>(n));
      std::atomic<int> empty{0};
      for_ranges(pool.get(), n, [&](std::int64_t i0, std::int64_t i1) {
        if (i0 >= i1 && n > 0) ++empty;
        for (std::int64_t i = i0; i < i1; ++i) ++seen[static_cast<std::size_t>(i)];
      });
      for (std::int64_t i = 0; i < n; ++i)
        EXPECT_EQ(seen[static_cast<std::size_t>(i)], 1) << "threads " << threads << " n " << n;
      EXPECT_EQ(empty, 0) << "threads " << threads << " n " << n;
    }
  }
}

// record_tasks: each task's stamps bracket that task's own work (task i busy for (i + 1) ms) and
// lie within the run; once stopped, runs write nothing. A pool of one thread stamps too.
TEST(ThreadPool, RecordTasksStampsEachTaskOnItsThread) {
  for (int n : {1, 3}) {
    ThreadPool pool(n);
    std::vector<ThreadPool::TaskStamp> st(static_cast<std::size_t>(n));
    pool.record_tasks(st.data());
    const std::int64_t before = ThreadPool::now_ns();
    pool.run([](int i) {
      const std::int64_t until = ThreadPool::now_ns() + (i + 1) * 1000000;
      while (ThreadPool::now_ns() < until) {
      }
    });
    const std::int64_t after = ThreadPool::now_ns();
    for (int i = 0; i < n; ++i) {
      SCOPED_TRACE(testing::Message() << "pool " << n << " task " << i);
      EXPECT_GE(st[i].start_ns, before);
      EXPECT_GE(st[i].end_ns - st[i].start_ns, (i + 1) * 1000000);
      EXPECT_LE(st[i].end_ns, after);
    }
    pool.record_tasks(nullptr);
    std::fill(st.begin(), st.end(), ThreadPool::TaskStamp{});
    pool.run([](int) {});
    for (const auto& x : st)
      EXPECT_EQ(x.start_ns + x.end_ns, 0) << "pool " << n << ": stopped, yet stamped";
  }
}

// run_balanced: every unit once, the ranges in thread order, and sized by the shares (set here:
// within one unit of units * share, fixed-point rounding).
TEST(ThreadPool, RunBalancedCoversEachUnitOnceInShares) {
  for (const std::vector<double>& sh :
       std::vector<std::vector<double>>{{1}, {1, 1}, {1, 3}, {3, 1}, {1, 2, 5}}) {
    const int T = static_cast<int>(sh.size());
    ThreadPool pool(T);
    pool.set_shares(sh);
    double sum = 0;
    for (double x : sh) sum += x;
    for (int t = 0; t < T; ++t)
      EXPECT_DOUBLE_EQ(pool.share(t), sh[static_cast<std::size_t>(t)] / sum);
    for (std::int64_t units : {1, 2, 3, 7, 64, 1000}) {
      SCOPED_TRACE(testing::Message() << "threads " << T << " units " << units);
      std::vector<std::atomic<int>> seen(static_cast<std::size_t>(units));
      std::vector<std::int64_t> lo(static_cast<std::size_t>(T), -1),
          hi(static_cast<std::size_t>(T), -1);
      pool.set_shares(sh);  // no measured speed moves the cuts between these runs
      pool.run_balanced(units, [&](int t, std::int64_t u0, std::int64_t u1) {
        lo[static_cast<std::size_t>(t)] = u0;
        hi[static_cast<std::size_t>(t)] = u1;
        for (std::int64_t u = u0; u < u1; ++u) ++seen[static_cast<std::size_t>(u)];
      });
      for (std::int64_t u = 0; u < units; ++u)
        ASSERT_EQ(seen[static_cast<std::size_t>(u)], 1) << "unit " << u;
      std::int64_t end = 0;
      for (int t = 0; t < T; ++t) {
        const auto i = static_cast<std::size_t>(t);
        if (lo[i] < 0) continue;  // an empty range is not called
        EXPECT_EQ(lo[i], end) << "thread " << t << " starts where the previous range ended";
        EXPECT_LT(lo[i], hi[i]);
        end = hi[i];
      }
      EXPECT_EQ(end, units);
      if (units == 1000) {
        for (int t = 0; t < T; ++t) {
          const auto i = static_cast<std::size_t>(t);
          EXPECT_NEAR(static_cast<double>(hi[i] - lo[i]), 1000 * pool.share(t), 1.0)
              << "thread " << t;
        }
      }
    }
  }
  // More units than the job line's 32-bit count: equal ranges, still covering every unit once.
  for (int T : {2, 3}) {
    ThreadPool pool(T);
    const std::int64_t units = (std::int64_t{1} << 32) + 5;
    std::vector<std::pair<std::int64_t, std::int64_t>> r(static_cast<std::size_t>(T), {-1, -1});
    pool.run_balanced(units, [&](int t, std::int64_t u0, std::int64_t u1) {
      r[static_cast<std::size_t>(t)] = {u0, u1};
    });
    EXPECT_EQ(r[0].first, 0) << T;
    for (int t = 1; t < T; ++t)
      EXPECT_EQ(r[static_cast<std::size_t>(t)].first, r[static_cast<std::size_t>(t - 1)].second)
          << T;
    EXPECT_EQ(r.back().second, units) << T;
  }
  ThreadPool pool(2);
  EXPECT_THROW(pool.set_shares({1}), std::invalid_argument);
  EXPECT_THROW(pool.set_shares({1, 0}), std::invalid_argument);
}

// The shares follow the threads' measured speeds: with thread 1 taking three times as long per
// unit (busy waits of 3 us against 1 us), thread 0's share moves from 1/2 towards 3/4. A thread
// preempted on a busy machine looks slower for a window, so the test runs until the share has
// moved (about 15 windows of a millisecond on a quiet machine), for at most 3000 runs.
TEST(ThreadPool, RunBalancedFollowsMeasuredSpeeds) {
  ThreadPool pool(2);
  EXPECT_DOUBLE_EQ(pool.share(0), 0.5);
  int runs = 0;
  for (; runs < 3000 && pool.share(0) < 0.65; ++runs)
    pool.run_balanced(100, [](int t, std::int64_t u0, std::int64_t u1) {
      const std::int64_t until = ThreadPool::now_ns() + (u1 - u0) * (t == 0 ? 1000 : 3000);
      while (ThreadPool::now_ns() < until) {
      }
    });
  EXPECT_GE(pool.share(0), 0.65) << "after " << runs << " runs";
  EXPECT_LE(pool.share(0), 0.75) << "within [1/4, 3/4] of the units";
}

TEST(ThreadPool, SplitRowsIsAlignedAndCovers) {
  for (std::int64_t M : {1, 3, 4, 5, 17, 640, 2561})
    for (int parts : {1, 2, 3, 7})
      for (std::int64_t mult : {1, 4, 16}) {
        const auto b = split_rows(M, parts, mult);
        ASSERT_EQ(b.size(), static_cast<std::size_t>(parts + 1));
        EXPECT_EQ(b.front(), 0);
        EXPECT_EQ(b.back(), M);
        for (int i = 0; i < parts; ++i) {
          EXPECT_LE(b[i], b[i + 1]);
          EXPECT_TRUE(b[i] % mult == 0 || b[i] == M);
          // Sizes differ by at most one multiple (the last range may be cut short by M).
          const std::int64_t least = (M + mult - 1) / mult / parts * mult;
          if (i + 1 < parts) {
            EXPECT_GE(b[i + 1] - b[i], least);
            EXPECT_LE(b[i + 1] - b[i], least + mult);
          }
        }
      }
}

TEST(WeightArena, AdoptedBuffersKeepContentsLieInOrderAndOutliveTheArena) {
  auto filled = [](std::size_t n, std::uint8_t seed) {
    AlignedBuffer b(n);
    for (std::size_t i = 0; i < n; ++i) b.data()[i] = static_cast<std::uint8_t>(seed + i * 7);
    return b;
  };
  auto same = [](const AlignedBuffer& b, std::size_t n, std::uint8_t seed) {
    if (b.size() != n) return false;
    for (std::size_t i = 0; i < n; ++i)
      if (b.data()[i] != static_cast<std::uint8_t>(seed + i * 7)) return false;
    return true;
  };
  // Sizes: odd (tail padding), a 4 KiB multiple, one over half a block (a block of its own).
  const std::size_t sizes[] = {1000, 8192, 70001, WeightArena::kBlockBytes / 2 + 100, 5};
  std::vector<AlignedBuffer> bufs;
  {
    WeightArena arena;
    for (std::size_t i = 0; i < std::size(sizes); ++i) {
      bufs.push_back(filled(sizes[i], static_cast<std::uint8_t>(i)));
      const std::uint8_t* before = bufs.back().data();
      arena.adopt(bufs.back());
      ASSERT_TRUE(bufs.back().in_arena()) << i;
      EXPECT_NE(bufs.back().data(), before) << i;
    }
    // Small buffers follow each other on 4 KiB boundaries; the large one did not break the run.
    auto addr = [&](std::size_t i) { return reinterpret_cast<std::uintptr_t>(bufs[i].data()); };
    EXPECT_EQ(addr(0) % 4096, 0u);
    EXPECT_EQ(addr(1), addr(0) + 4096);
    EXPECT_EQ(addr(2), addr(1) + 8192);
    EXPECT_EQ(addr(4), addr(2) + 73728);
    EXPECT_EQ(addr(3) % (2u << 20), 0u);
    // Readable zeros up to the next 64-byte line (a kernel's full-width tail load).
    for (std::size_t j = 1000; j < 1024; ++j) EXPECT_EQ(bufs[0].data()[j], 0) << j;
    AlignedBuffer empty;
    arena.adopt(empty);
    EXPECT_FALSE(empty.in_arena());
  }  // the arena goes first: its blocks live on in the buffers (ASan would see a use after free)
  for (std::size_t i = 0; i < std::size(sizes); ++i) EXPECT_TRUE(same(bufs[i], sizes[i], static_cast<std::uint8_t>(i))) << i;
  // A copy is deep and owned; resizing a view detaches it.
  AlignedBuffer copy = bufs[1];
  EXPECT_FALSE(copy.in_arena());
  EXPECT_TRUE(same(copy, sizes[1], 1));
  bufs[2].resize(16);
  EXPECT_FALSE(bufs[2].in_arena());
  EXPECT_EQ(bufs[2].data()[15], 0);
  EXPECT_TRUE(same(bufs[4], sizes[4], 4));  // its block is still held by the others
}

TEST(Cpu, DetectsAndNamesLevels) {
  const CpuInfo& c = cpu_info();
  EXPECT_FALSE(c.vendor.empty());
  EXPECT_TRUE(isa_runnable(Isa::kScalar));
  EXPECT_EQ(parse_isa("avx512vnni"), Isa::kAvx512Vnni);
  EXPECT_FALSE(parse_isa("sse9").has_value());
  EXPECT_GT(c.last_level_cache_bytes(), 0);
  if (!isa_runnable(Isa::kAvx512Vbmi)) {
    EXPECT_FALSE(why_not_runnable(Isa::kAvx512Vbmi).empty());
  }
  // cpu_has answers from the detected feature list, by exact name.
  for (const std::string& f : c.features) EXPECT_TRUE(cpu_has(f)) << f;
  EXPECT_FALSE(cpu_has("no-such-feature"));
  EXPECT_FALSE(cpu_has(""));
}

}  // namespace
}  // namespace tritbench
