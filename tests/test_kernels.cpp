// Every registry row against the naive oracle: no test code per kernel. A new row is covered by
// adding it to kernels/registry.cpp.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <set>
#include <memory>

#include "harness/lib/check.h"
#include "kernels/registry.h"
#include "kernels/runtime/gemm.h"

namespace tritbench {
namespace {

std::vector<std::string> row_names() {
  std::vector<std::string> n;
  for (const auto& k : registry()) n.emplace_back(k.name);
  return n;
}

class KernelTest : public ::testing::TestWithParam<std::string> {
 protected:
  const KernelInfo& kernel() const { return *find_kernel(GetParam()); }
};

// The full check case list (tiles, batches 1..9 and 128, adversarial data, K = 45568, 2B-4T shapes)
// at 1 and 2 threads. Oracle results are computed once per case and shared by all rows.
struct OracleCache {
  std::vector<check::Case> cases = check::cases(false);
  std::map<std::size_t, std::pair<std::unique_ptr<check::CaseData>, std::vector<std::int32_t>>> data;
  const std::pair<std::unique_ptr<check::CaseData>, std::vector<std::int32_t>>& get(std::size_t i) {
    auto& slot = data[i];
    if (!slot.first) {
      slot.first = std::make_unique<check::CaseData>();
      check::make_data(cases[i], *slot.first);
      slot.second = check::oracle(*slot.first);
    }
    return slot;
  }
};
OracleCache& oracle_cache() {
  static OracleCache c;
  return c;
}

TEST_P(KernelTest, MatchesOracleOnAllCases) {
  const KernelInfo& k = kernel();
  if (!runnable(k)) GTEST_SKIP() << k.name << ": " << why_not_runnable(k.isa);
  ThreadPool one(1), two(2);
  auto& cache = oracle_cache();
  for (std::size_t i = 0; i < cache.cases.size(); ++i) {
    const auto& [d, expected] = cache.get(i);
    for (ThreadPool* pool : {&one, &two}) {
      const auto r = check::run(k, cache.cases[i], *d, expected, *pool);
      ASSERT_TRUE(r.pass) << r.describe();
    }
  }
}

TEST_P(KernelTest, PackUnpackRoundTripAndSentinels) {
  const KernelInfo& k = kernel();
  if (!runnable(k)) GTEST_SKIP() << k.name << ": " << why_not_runnable(k.isa);
  for (auto [M, K] : {std::pair<std::int64_t, std::int64_t>{1, 1}, {5, 127}, {7, 129}, {13, 300}, {4, 512}}) {
    check::CaseData d;
    check::make_data({M, K, 1}, d);
    PackedWeights p = pack_weights(k, d.w);
    // The packed buffer's allocation is rounded to 64 bytes; what lies past size() must stay zero.
    const std::size_t alloc = (p.data.size() + 63) / 64 * 64;
    for (std::size_t i = p.data.size(); i < alloc; ++i) ASSERT_EQ(p.data.data()[i], 0) << k.name;
    const TernaryMatrix u = k.unpack(p);
    ASSERT_EQ(u.M, M);
    ASSERT_EQ(u.K, K);
    ASSERT_EQ(u.w, d.w.w) << k.name << " M=" << M << " K=" << K;
    ASSERT_EQ(u.scale, d.w.scale);
  }
}

TEST_P(KernelTest, ResultsIndependentOfThreadCount) {
  const KernelInfo& k = kernel();
  if (!runnable(k)) GTEST_SKIP() << k.name << ": " << why_not_runnable(k.isa);
  check::CaseData d;
  check::make_data({301, 1000, 5, check::WeightData::kRandom, check::ActData::kGaussian, 77}, d);
  PackedWeights p = pack_weights(k, d.w);
  std::vector<float> ref;
  // Equal ranges, and uneven ones as ThreadPool::run_balanced cuts them for threads of different
  // speeds (set here), so the rows cut at many places.
  const std::vector<std::vector<double>> shares = {
      {1}, {1, 1}, {1, 3}, {3, 1}, {1, 7}, {1, 1, 1}, {1, 2, 5}, {5, 1, 1}, {1, 1, 1, 1}};
  for (const auto& sh : shares) {
    const int t = static_cast<int>(sh.size());
    ThreadPool pool(t);
    pool.set_shares(sh);
    GemmWorkspace ws;
    prepare_activations(p, d.a, ws);
    std::vector<float> y(5 * 301);
    gemm_f32(p, ws, y.data(), 301, &pool);
    if (t == 1) {
      ref = y;
    } else {
      ASSERT_EQ(0, std::memcmp(ref.data(), y.data(), y.size() * sizeof(float)))
          << "threads=" << t << " share of thread 0 " << pool.share(0);
    }
  }
}

// A model's memory plan adds up estimate_packed_bytes before packing anything: it must never be
// below what packing takes, and not far above it on real shapes (or a model that fits is refused).
TEST_P(KernelTest, PackedSizeEstimateBoundsTheRealSize) {
  const KernelInfo& k = kernel();
  if (!runnable(k)) GTEST_SKIP() << k.name << ": " << why_not_runnable(k.isa);
  for (auto [M, K] : {std::pair<std::int64_t, std::int64_t>{1, 1},
                      {5, 127},
                      {13, 300},
                      {301, 1000},
                      {640, 2560},
                      {2560, 6912},
                      {1536, 4096}}) {
    check::CaseData d;
    check::make_data({M, K, 1}, d);
    const auto real = static_cast<std::int64_t>(pack_weights(k, d.w).bytes());
    const std::int64_t est = estimate_packed_bytes(k, M, K);
    EXPECT_GE(est, real) << k.name << " " << M << "x" << K;
    if (M * K >= 1 << 20) {  // model shapes: within 5% of the real size
      EXPECT_LE(static_cast<double>(est), 1.05 * static_cast<double>(real))
          << k.name << " " << M << "x" << K;
    }
  }
}

// Several weights on the same activations in one dispatch (the model's q/k/v and gate/up) give
// the bits of one gemm_f32 per weight, for matrices whose row counts are not multiples of the
// row's row_multiple and at thread counts that cut inside them.
TEST_P(KernelTest, MultiGemmEqualsOneGemmPerWeight) {
  const KernelInfo& k = kernel();
  if (!runnable(k)) GTEST_SKIP() << k.name << ": " << why_not_runnable(k.isa);
  for (std::int64_t N : {1, 5}) {
    std::vector<check::CaseData> d(3);
    const std::int64_t Ms[] = {301, 37, 130};
    for (int i = 0; i < 3; ++i)
      check::make_data({Ms[i], 700, N, check::WeightData::kRandom, check::ActData::kGaussian, 40u + i}, d[i]);
    std::vector<PackedWeights> p;
    for (int i = 0; i < 3; ++i) p.push_back(pack_weights(k, d[i].w));
    const QuantizedBatch& a = d[0].a;  // one activation batch for all three
    std::vector<std::vector<float>> ref(3);
    {
      ThreadPool one(1);
      GemmWorkspace ws;
      for (int i = 0; i < 3; ++i) {
        prepare_activations(p[i], a, ws);
        ref[i].resize(static_cast<std::size_t>(N * Ms[i]));
        gemm_f32(p[i], ws, ref[i].data(), Ms[i], &one);
      }
    }
    for (const std::vector<double>& sh :
         std::vector<std::vector<double>>{{1}, {1, 1}, {1, 4}, {1, 1, 1}, {4, 1, 2}}) {
      const int t = static_cast<int>(sh.size());
      ThreadPool pool(t);
      pool.set_shares(sh);
      GemmWorkspace ws;
      std::vector<std::vector<float>> y(3);
      for (int i = 0; i < 3; ++i) y[i].assign(static_cast<std::size_t>(N * Ms[i]), -1.0f);
      const PackedWeights* w[] = {&p[0], &p[1], &p[2]};
      float* out[] = {y[0].data(), y[1].data(), y[2].data()};
      gemm_f32_multi(w, a, ws, out, &pool);
      for (int i = 0; i < 3; ++i)
        ASSERT_EQ(0, std::memcmp(ref[i].data(), y[i].data(), y[i].size() * sizeof(float)))
            << k.name << " N=" << N << " threads=" << t << " matrix " << i;
      // The overload benchmarks time: activations prepared once beforehand, the same results.
      GemmWorkspace ws2;
      prepare_activations(p[0], a, ws2);
      for (int i = 0; i < 3; ++i) y[i].assign(static_cast<std::size_t>(N * Ms[i]), -1.0f);
      gemm_f32_multi(w, ws2, out, &pool);
      for (int i = 0; i < 3; ++i)
        ASSERT_EQ(0, std::memcmp(ref[i].data(), y[i].data(), y[i].size() * sizeof(float)))
            << k.name << " N=" << N << " threads=" << t << " matrix " << i
            << " (prepared overload)";
    }
  }
}

// The prepared overload refuses weights its one preparation cannot serve, and activations that
// were never prepared, with an error instead of wrong numbers.
TEST(Gemm, MultiOnPreparedActivationsRefusesWhatTheyCannotServe) {
  const KernelInfo& k = *resolve_kernels("naive__scalar").at(0);
  check::CaseData d1, d2;
  check::make_data({64, 256, 1, check::WeightData::kRandom, check::ActData::kGaussian, 7u}, d1);
  check::make_data({64, 512, 1, check::WeightData::kRandom, check::ActData::kGaussian, 8u}, d2);
  const PackedWeights p1 = pack_weights(k, d1.w), p2 = pack_weights(k, d2.w);
  std::vector<float> y1(64), y2(64);
  float* out[] = {y1.data(), y2.data()};
  ThreadPool pool(2);
  GemmWorkspace ws;
  auto refused = [&](std::span<const PackedWeights* const> w, const std::string& expect) {
    try {
      gemm_f32_multi(w, ws, out, &pool);
      ADD_FAILURE() << "accepted; expected an error with: " << expect;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(expect), std::string::npos) << e.what();
    }
  };
  const PackedWeights* same[] = {&p1, &p1};
  refused(same, "not prepared");
  prepare_activations(p1, d1.a, ws);
  const PackedWeights* mixed[] = {&p1, &p2};
  refused(mixed, "one kernel, K and tile");
  gemm_f32_multi(same, ws, out, &pool);  // what it can serve still runs
  EXPECT_EQ(0, std::memcmp(y1.data(), y2.data(), y1.size() * sizeof(float)));
}

INSTANTIATE_TEST_SUITE_P(Registry, KernelTest, ::testing::ValuesIn(row_names()),
                         [](const auto& param_info) { return param_info.param; });

TEST(Registry, NamesFollowTheGrammarAndAreUnique) {
  std::set<std::string_view> seen;
  for (const auto& k : registry()) {
    EXPECT_TRUE(seen.insert(k.name).second) << "duplicate " << k.name;
    const std::string expected_suffix = "__" + std::string(isa_name(k.isa));
    EXPECT_TRUE(std::string(k.name).ends_with(expected_suffix)) << k.name << " should end in " << expected_suffix;
    EXPECT_TRUE(std::string(k.name).starts_with(k.family)) << k.name;
    EXPECT_NE(k.pack, nullptr);
    EXPECT_NE(k.unpack, nullptr);
    EXPECT_NE(k.prepare, nullptr);
    if (k.exact()) {
      EXPECT_NE(k.gemm_i32, nullptr) << k.name;
    } else {
      EXPECT_NE(k.gemm_f32, nullptr) << k.name;
      EXPECT_GT(k.bound.nmse, 0) << k.name << ": approximate rows state a bound";
      EXPECT_GT(k.bound.step_units, 0) << k.name << ": approximate rows state a bound";
    }
  }
}

TEST(Registry, ResolvesNamesFamiliesGlobsAndRefusesUnknown) {
  EXPECT_EQ(resolve_kernels("naive__scalar").at(0)->name, "naive__scalar");
  const auto fam = resolve_kernels("i2s");
  ASSERT_EQ(fam.size(), 1u);
  EXPECT_TRUE(runnable(*fam[0]));
  EXPECT_GE(resolve_kernels("i2s_*").size() + resolve_kernels("i2s__*").size(), 3u);
  EXPECT_THROW(resolve_kernels("no_such_kernel"), std::invalid_argument);
  try {
    resolve_kernels("nope");
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("naive__scalar"), std::string::npos) << "lists the known rows";
  }
  EXPECT_THROW(resolve_kernel_list(""), std::invalid_argument);
  EXPECT_TRUE(glob_match("*__avx2", "i2s__avx2"));
  EXPECT_FALSE(glob_match("*__avx2", "i2s__avx512vnni"));
}

TEST(Runtime, BadInputIsRefusedWithAClearError) {
  const KernelInfo& k = *find_kernel("naive__scalar");
  TernaryMatrix empty;
  EXPECT_THROW(pack_weights(k, empty), std::invalid_argument);
  TernaryMatrix wrong{4, 4, std::vector<std::int8_t>(3), 1.0f};
  EXPECT_THROW(pack_weights(k, wrong), std::invalid_argument);
  check::CaseData d;
  check::make_data({4, 8, 1}, d);
  PackedWeights p = pack_weights(k, d.w);
  check::CaseData other;
  check::make_data({4, 9, 1}, other);
  GemmWorkspace ws;
  try {
    prepare_activations(p, other.a, ws);
    FAIL() << "K mismatch accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("K = 9"), std::string::npos) << e.what();
  }
  prepare_activations(p, d.a, ws);
  EXPECT_THROW(gemm_f32(p, ws, nullptr, 4, nullptr), std::invalid_argument);
  std::vector<float> y(4);
  EXPECT_THROW(gemm_f32(p, ws, y.data(), 2, nullptr), std::invalid_argument);
  PackedWeights unpacked;
  EXPECT_THROW(gemm_i32(unpacked, ws.prepared, nullptr, 0, nullptr), std::invalid_argument);
}

TEST(Runtime, KernelThatCannotRunIsRefusedNotReplaced) {
  for (const auto& k : registry()) {
    if (runnable(k)) continue;
    check::CaseData d;
    check::make_data({4, 8, 1}, d);
    EXPECT_THROW(pack_weights(k, d.w), std::invalid_argument) << k.name;
  }
}

TEST(Runtime, CallsAreRecordedPerRow) {
  reset_kernel_call_counts();
  const KernelInfo& k = *find_kernel("naive__scalar");
  check::CaseData d;
  check::make_data({4, 8, 2}, d);
  PackedWeights p = pack_weights(k, d.w);
  GemmWorkspace ws;
  prepare_activations(p, d.a, ws);
  std::vector<float> y(8);
  gemm_f32(p, ws, y.data(), 4, nullptr);
  gemm_f32(p, ws, y.data(), 4, nullptr);
  const auto counts = kernel_call_counts();
  ASSERT_EQ(counts.size(), 1u);
  EXPECT_EQ(counts.at("naive__scalar"), 2);
}

}  // namespace
}  // namespace tritbench
