#include <gtest/gtest.h>

#include <atomic>

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
        }
      }
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
}

}  // namespace
}  // namespace tritbench
