// TQ2_0 / TQ1_0 specifics: llama.cpp's block bytes checked by hand (element order, base-3
// fixed-point bytes, fp16 d), the fp16 conversion, and padding of K to whole blocks.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "harness/lib/check.h"
#include "kernels/registry.h"
#include "kernels/runtime/gemm.h"
#include "kernels/tq/format.h"
#include "kernels/tq/tq.h"

namespace tritbench {
namespace {

TEST(TQ2, BlockBytesByHand) {
  // All zero but element 197 = 128 + 32*2 + 5 (+1: code 2) and element 3 (-1: code 0).
  std::int8_t w[256] = {};
  w[197] = 1;
  w[3] = -1;
  std::uint8_t b[66];
  tq::encode_tq2(w, 0.5f, b);
  for (int i = 0; i < 64; ++i) {
    std::uint8_t expect = 0x55;  // four codes 1
    if (i == 37) expect = 0x65;  // byte 32 + 5, bits 5:4 = 2
    if (i == 3) expect = 0x54;  // byte 3, bits 1:0 = 0
    EXPECT_EQ(b[i], expect) << "qs[" << i << "]";
  }
  EXPECT_EQ(b[64] | (b[65] << 8), 0x3800) << "d = fp16(0.5), little-endian";
  std::int8_t back[256];
  tq::decode_tq2(b, back);
  EXPECT_EQ(0, std::memcmp(w, back, 256));
}

TEST(TQ1, Base3BytesByHand) {
  // Codes (c0..c4) = (2, 0, 1, 1, 0): v = 162 + 9 + 3 = 174, byte = ceil(174 * 256 / 243) = 184.
  const int c[5] = {2, 0, 1, 1, 0};
  EXPECT_EQ(tq::tq1_byte(c), 184);
  for (int n = 0; n < 5; ++n) EXPECT_EQ(tq::tq1_digit(184, n), c[n]) << "digit " << n;
  // Every one of the 243 code patterns survives the fixed-point byte.
  for (int v = 0; v < 243; ++v) {
    const int d[5] = {v / 81, v / 27 % 3, v / 9 % 3, v / 3 % 3, v % 3};
    const std::uint8_t byte = tq::tq1_byte(d);
    for (int n = 0; n < 5; ++n) ASSERT_EQ(tq::tq1_digit(byte, n), d[n]) << "v=" << v;
  }
}

TEST(TQ1, BlockBytesByHand) {
  std::int8_t w[256] = {};
  // qs[7]: elements 7, 39, 71, 103, 135 = +1, -1, 0, 0, -1 -> codes 2, 0, 1, 1, 0 -> 184.
  w[7] = 1;
  w[39] = -1;
  w[135] = -1;
  // qs[32 + 9]: elements 160 + 16n + 9; element 160 + 16*4 + 9 = 233 = +1 -> codes 1,1,1,1,2:
  // v = 81 + 27 + 9 + 3 + 2 = 122 -> ceil(122 * 256 / 243) = 129.
  w[233] = 1;
  // qh[2]: elements 240 + 4n + 2; element 246 (n = 1) = +1 -> codes 1, 2, 1, 1 shifted up one
  // digit: v = (27 + 18 + 3 + 1) * 3 = 147 -> ceil(147 * 256 / 243) = 155.
  w[246] = 1;
  std::uint8_t b[54];
  tq::encode_tq1(w, 1.0f, b);
  for (int i = 0; i < 48; ++i) {
    // All-zero codes 1, 1, 1, 1, 1: v = 121 -> ceil(121 * 256 / 243) = 128.
    const int expect = i == 7 ? 184 : i == 41 ? 129 : 128;
    EXPECT_EQ(b[i], expect) << "qs[" << i << "]";
  }
  for (int i = 0; i < 4; ++i) {
    // All-zero qh: v = (27 + 9 + 3 + 1) * 3 = 120 -> ceil(120 * 256 / 243) = 127.
    EXPECT_EQ(b[48 + i], i == 2 ? 155 : 127) << "qh[" << i << "]";
  }
  EXPECT_EQ(b[52] | (b[53] << 8), 0x3C00) << "d = fp16(1.0)";
  std::int8_t back[256];
  tq::decode_tq1(b, back);
  EXPECT_EQ(0, std::memcmp(w, back, 256));
}

TEST(TQ, HalfConversion) {
  EXPECT_EQ(tq::float_to_half(1.0f), 0x3C00);
  EXPECT_EQ(tq::float_to_half(-2.0f), 0xC000);
  EXPECT_EQ(tq::float_to_half(65504.0f), 0x7BFF);
  EXPECT_EQ(tq::float_to_half(65520.0f), 0x7C00) << "rounds to infinity";
  EXPECT_EQ(tq::float_to_half(std::ldexp(1.0f, -24)), 0x0001) << "smallest subnormal";
  EXPECT_EQ(tq::float_to_half(1.0f + std::ldexp(1.0f, -11)), 0x3C00) << "tie to even";
  EXPECT_EQ(tq::float_to_half(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3C02) << "tie to even";
  EXPECT_EQ(tq::float_to_half(std::numeric_limits<float>::infinity()), 0x7C00);
  for (std::uint32_t h = 0; h < 0x10000; ++h) {
    if ((h & 0x7C00) == 0x7C00 && (h & 0x3FF)) continue;  // NaNs
    ASSERT_EQ(tq::float_to_half(tq::half_to_float(static_cast<std::uint16_t>(h))), h) << h;
  }
}

TEST(TQ, RowsAreWholeBlocksPaddedWithZeroWeights) {
  check::CaseData d;
  check::make_data({3, 300, 1}, d);  // K = 300: two blocks per row, 212 zero weights of padding
  for (auto [name, bytes] : {std::pair<const char*, int>{"tq2_0__scalar", 66}, {"tq1_0__scalar", 54}}) {
    PackedWeights p = pack_weights(*find_kernel(name), d.w);
    ASSERT_EQ(p.ld, 2 * bytes) << name;
    // TQ1_0 keeps 64 bytes after the last block for the AVX-512 kernel's whole-vector loads.
    ASSERT_EQ(p.data.size(), std::size_t(3 * 2 * bytes + (bytes == 54 ? 64 : 0))) << name;
    std::int8_t block[256];
    for (std::int64_t m = 0; m < 3; ++m) {
      bytes == 66 ? tq::decode_tq2(p.data.data() + m * p.ld + bytes, block)
                  : tq::decode_tq1(p.data.data() + m * p.ld + bytes, block);
      for (int i = 0; i < 256; ++i) {
        const int expect = 256 + i < 300 ? d.w.at(m, 256 + i) : 0;
        ASSERT_EQ(block[i], expect) << name << " row " << m << " column " << 256 + i;
      }
    }
  }
}

// A batch's rows run in cache blocks (tq::rows_per_block), every token over a block before the
// next: several blocks, a last one cut short with rows left over from the micro-tiles, token pairs
// and a lone token, at 1 and 2 threads.
TEST(TQ, BatchesOverSeveralRowBlocksMatchTheOracle) {
  const check::Case c{331, 8192, 5, check::WeightData::kRandom, check::ActData::kUniform, 7};
  check::CaseData d;
  check::make_data(c, d);
  const std::vector<std::int32_t> expected = check::oracle(d);
  ThreadPool one(1), two(2);
  int ran = 0;
  for (const char* name :
       {"tq2_0__avx2", "tq2_0__avx512vnni", "tq1_0__avx2", "tq1_0__avx512vnni"}) {
    const KernelInfo& k = *find_kernel(name);
    if (!runnable(k)) continue;
    const std::int64_t row_bytes =
        c.K / tq::kBlock * (k.pack == tq::tq1_pack ? sizeof(tq::BlockTQ1) : sizeof(tq::BlockTQ2));
    ASSERT_LT(2 * tq::rows_per_block(row_bytes, 4), c.M) << name << ": fewer than three blocks";
    for (ThreadPool* pool : {&one, &two}) {
      const auto r = check::run(k, c, d, expected, *pool);
      ASSERT_TRUE(r.pass) << r.describe();
    }
    ++ran;
  }
  if (ran == 0) GTEST_SKIP() << "no SIMD TQ row runs on this machine";
}

TEST(TQ1, KBeyondTheKernelBoundIsRefused) {
  TernaryMatrix w{1, tq::kMaxKTQ1 + 256, std::vector<std::int8_t>(tq::kMaxKTQ1 + 256, 0), 1.0f};
  try {
    pack_weights(*find_kernel("tq1_0__scalar"), w);
    FAIL() << "K = 2^19 + 256 accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("K = 524544"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace tritbench
