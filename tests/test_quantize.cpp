// The quantizers against hand-computed values (spec/bitnet-formats.md section 1).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "kernels/cpu/cpu.h"
#include "reference/epilogue.h"
#include "reference/quantize.h"
#include "reference/rng.h"

namespace tritbench::reference {
void quantize_row_avx512(const float* x, std::int64_t K, std::int8_t* q, float* scale, std::int32_t* sum);
}

namespace tritbench {
namespace {

struct Row {
  std::vector<std::int8_t> q;
  float scale;
  std::int32_t sum;
};

Row quant(const std::vector<float>& x) {
  Row r{std::vector<std::int8_t>(x.size()), 0, 0};
  reference::quantize_row_scalar(x.data(), static_cast<std::int64_t>(x.size()), r.q.data(), &r.scale, &r.sum);
  return r;
}

TEST(Quantize, MaxElementMapsTo127AndScaleIsFloatOfDoubleDivision) {
  const Row r = quant({0.5f, -2.0f, 1.0f, 0.0f});
  EXPECT_EQ(r.scale, static_cast<float>(127.0 / 2.0));
  EXPECT_EQ(r.q, (std::vector<std::int8_t>{32, -127, 64, 0}));  // 0.5*63.5 = 31.75 -> 32
  EXPECT_EQ(r.sum, 32 - 127 + 64);
}

TEST(Quantize, TiesRoundToEven) {
  // max = 127 -> s = 1: x * s = x exactly, so halves are ties.
  const Row r = quant({127.0f, 0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 3.5f});
  EXPECT_EQ(r.scale, 1.0f);
  EXPECT_EQ(r.q, (std::vector<std::int8_t>{127, 0, 2, 2, 0, -2, -2, 4}));
}

TEST(Quantize, FloorOf1eMinus5OnAllZeroAndTinyRows) {
  const Row z = quant({0.0f, 0.0f, 0.0f});
  EXPECT_EQ(z.scale, static_cast<float>(127.0 / 1e-5));
  EXPECT_EQ(z.q, (std::vector<std::int8_t>{0, 0, 0}));
  // |x| below the floor: scaled by 127/1e-5, so 5e-6 -> 63.5 -> 64 (ties to even).
  const Row t = quant({5e-6f, -1e-6f});
  EXPECT_EQ(t.scale, static_cast<float>(127.0 / 1e-5));
  EXPECT_EQ(t.q[0], static_cast<std::int8_t>(std::nearbyint(5e-6f * t.scale)));
  EXPECT_EQ(t.q[1], static_cast<std::int8_t>(std::nearbyint(-1e-6f * t.scale)));
}

TEST(Quantize, MaxUsesDoublePrecision) {
  // 127 / max in double, rounded once to float: differs from the float division for this max.
  const float m = 3.0000002f;
  const Row r = quant({m});
  EXPECT_EQ(r.scale, static_cast<float>(127.0 / static_cast<double>(m)));
  EXPECT_EQ(r.q[0], 127);
}

TEST(Quantize, ClampKeepsExtremesInRange) {
  // With s = 127/max|x| the product of the largest element is 127 up to one float rounding, so the
  // clamp to [-128, 127] is what guarantees int8 output at the extremes of the float range; -128
  // itself never comes from finite input (the kernels meet it through int8 test data).
  const float big = std::numeric_limits<float>::max();
  const Row r = quant({-big, big, 1.0f, -big / 3});
  EXPECT_EQ(r.q[0], -127);
  EXPECT_EQ(r.q[1], 127);
  EXPECT_EQ(r.q[2], 0);
  EXPECT_EQ(r.q[3], -42);  // -127/3 = -42.33
  const float tiny = std::numeric_limits<float>::denorm_min();
  const Row t = quant({tiny, -tiny});
  EXPECT_EQ(t.q, (std::vector<std::int8_t>{0, 0}));  // below the 1e-5 floor
}

TEST(Quantize, NonFiniteInputIsDefined) {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  const Row n = quant({nan, 2.0f, -1.0f});
  EXPECT_EQ(n.q, (std::vector<std::int8_t>{0, 127, -64}));  // NaN -> 0, max ignores it
  const Row i = quant({inf, 2.0f});
  EXPECT_EQ(i.scale, 0.0f);
  EXPECT_EQ(i.q, (std::vector<std::int8_t>{0, 0}));
}

TEST(Quantize, SimdTwinGivesIdenticalBytes) {
  if (!isa_runnable(Isa::kAvx512)) GTEST_SKIP() << why_not_runnable(Isa::kAvx512);
  const std::uint64_t seed = 42;
  Rng rng(seed);
  for (int trial = 0; trial < 300; ++trial) {
    const std::int64_t K = 1 + static_cast<std::int64_t>(rng.below(3000));
    std::vector<float> x(static_cast<std::size_t>(K));
    const double mag = std::pow(10.0, static_cast<double>(rng.below(12)) - 6.0);
    for (auto& v : x) v = static_cast<float>(rng.normal() * mag);
    if (trial % 7 == 0) x[rng.below(K)] = std::numeric_limits<float>::quiet_NaN();
    if (trial % 11 == 0) x[rng.below(K)] = 127.5f * static_cast<float>(mag);  // ties
    std::vector<std::int8_t> a(x.size()), b(x.size());
    float sa, sb;
    std::int32_t ua, ub;
    reference::quantize_row_scalar(x.data(), K, a.data(), &sa, &ua);
    reference::quantize_row_avx512(x.data(), K, b.data(), &sb, &ub);
    ASSERT_EQ(a, b) << "seed " << seed << " trial " << trial;
    ASSERT_EQ(sa, sb) << "seed " << seed << " trial " << trial;
    ASSERT_EQ(ua, ub) << "seed " << seed << " trial " << trial;
  }
}

TEST(Quantize, BatchPadsRowsWithZeros) {
  std::vector<float> x = {1, 2, 3, 4, 5, 6};
  QuantizedBatch b;
  reference::quantize_activations(x.data(), 2, 3, 3, b);
  EXPECT_EQ(b.ldq, kActPad);
  for (std::int64_t n = 0; n < 2; ++n)
    for (std::int64_t k = 3; k < b.ldq; ++k) ASSERT_EQ(b.row(n)[k], 0);
  EXPECT_EQ(b.row(1)[2], 127);
}

TEST(QuantizeWeights, AbsmeanHandComputed) {
  // mean|W| = (0.1+0.2+0.3+0.4+0+1.0)/6 = 1/3; W/s = 0.3, -0.6, 0.9, -1.2, 0, 3 -> 0, -1, 1, -1, 0, 1
  const std::vector<float> W = {0.1f, -0.2f, 0.3f, -0.4f, 0.0f, 1.0f};
  const TernaryMatrix t = reference::quantize_weights_absmean(W.data(), 2, 3);
  EXPECT_FLOAT_EQ(t.scale, 1.0f / 3.0f);
  EXPECT_EQ(t.w, (std::vector<std::int8_t>{0, -1, 1, -1, 0, 1}));
  // Ties: W/s = 0.5 -> 0 and 1.5 -> 2 -> clamped 1 (round half to even, then clamp).
  const std::vector<float> T = {0.5f, 1.5f, 0.5f, 1.5f};
  const TernaryMatrix u = reference::quantize_weights_absmean(T.data(), 1, 4);
  EXPECT_EQ(u.scale, 1.0f);
  EXPECT_EQ(u.w, (std::vector<std::int8_t>{0, 1, 0, 1}));
  const std::vector<float> Z = {0, 0};
  EXPECT_EQ(reference::quantize_weights_absmean(Z.data(), 1, 2).scale, 1e-5f);
}

}  // namespace
}  // namespace tritbench

namespace tritbench {
namespace {

// The epilogue's AVX-512 row loop against the portable one, bit for bit: accumulators over the
// whole int32 range (its ends, around 2^24 where int -> float starts rounding, random), activation
// scales from the quantizer's largest (127 / 1e-5) to tiny ones, and every tail length.
TEST(Epilogue, Avx512RowGivesTheSameFloatsAsThePortableLoop) {
  if (!isa_runnable(Isa::kAvx512)) GTEST_SKIP() << "no AVX-512 here";
  Rng rng(99);
  std::vector<std::int32_t> c;
  for (std::int32_t v : {0, 1, -1, 16777215, 16777216, 16777217, -16777217, 33554431, 2147483647,
                         -2147483647 - 1, 123456789, -987654321})
    c.push_back(v);
  while (c.size() < 4000)
    c.push_back(static_cast<std::int32_t>(static_cast<std::uint32_t>(rng.next() >> 32)));
  for (float act : {1.27e7f, 127.0f / 3.3f, 1.0f, 0.37f, 1e-3f})
    for (float w : {1.0f, 0.0123f, 3.7e-7f, -2.5f})
      for (std::int64_t n : {0, 1, 15, 16, 17, 31, 33, 4000}) {
        std::vector<float> a(static_cast<std::size_t>(n) + 1, -9.0f), b(a);
        reference::epilogue_row_scalar(c.data(), n, act, w, a.data());
        reference::epilogue_row_avx512(c.data(), n, act, w, b.data());
        ASSERT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(float)))
            << "act " << act << " w " << w << " n " << n;  // the element past n untouched by both
      }
}

}  // namespace
}  // namespace tritbench
