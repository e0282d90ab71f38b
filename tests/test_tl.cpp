// TL1 / TL2 / TL2_0 specifics: the index and sign layout checked by hand, the tables, the int16
// block limits at their largest allowed tile on the worst-case data, and the refusal of tiles
// that could overflow. The registry tests (test_kernels.cpp) cover shapes, batches and data kinds.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "harness/lib/check.h"
#include "kernels/registry.h"
#include "kernels/runtime/gemm.h"
#include "kernels/tl1/format.h"
#include "kernels/tl1/tl1.h"
#include "kernels/tl2/format.h"
#include "kernels/tl2/tl2.h"
#include "reference/rng.h"

namespace tritbench {
namespace {

std::vector<const KernelInfo*> rows_of(std::string_view family) {
  std::vector<const KernelInfo*> out;
  for (const auto& k : registry())
    if (k.family == family && runnable(k)) out.push_back(&k);
  return out;
}

TEST(TL1, PairIndexLayoutByHand) {
  // Row 0: pairs (-1, +1) -> 3*-1 + 1 + 4 = 2 and (0, -1) -> 3; row 1: (+1, +1) -> 8, (0, 0) -> 4.
  TernaryMatrix w{2, 4, {-1, 1, 0, -1, 1, 1, 0, 0}, 1.0f};
  PackedWeights p;
  tl1::pack(w, {}, p);
  ASSERT_EQ(p.Mp, 64);
  ASSERT_EQ(p.Kp, 4);
  ASSERT_EQ(p.data.size(), 64u);  // one chunk: 64 rows x 2 pairs
  EXPECT_EQ(p.data.data()[0], 0x32);  // low nibble pair 0, high nibble pair 1
  EXPECT_EQ(p.data.data()[1], 0x48);
  for (int r = 2; r < 64; ++r) EXPECT_EQ(p.data.data()[r], 0x44) << "padded row " << r;
  EXPECT_EQ(tl1::unpack(p).w, w.w);
}

TEST(TL1, TableEntriesAndByteSplitByHand) {
  // (b0, b1) = (5, -3): -b0-b1, -b0, -b0+b1, -b1, 0, b1, b0-b1, b0, b0+b1 = -2 -5 -8 3 0 -3 8 5 2.
  alignas(64) std::int8_t q[128] = {5, -3};
  alignas(64) std::uint8_t t[2 * tl1::kTableBytes];
  tl1::build_tables_scalar(q, 2, t);
  const int expect[9] = {-2, -5, -8, 3, 0, -3, 8, 5, 2};
  for (int i = 0; i < 16; ++i) {
    const auto e = static_cast<std::int16_t>(t[i] | (t[16 + i] << 8));
    EXPECT_EQ(e, i < 9 ? expect[i] : 0) << "entry " << i;
  }
  EXPECT_EQ(tl1::entry(0, -128, -128), 256) << "the largest entry bounds the block";
  static_assert(tl1::kMaxBlockPairs * 256 <= 32767 && (tl1::kMaxBlockPairs + 2) * 256 > 32767);
}

TEST(TL1, SimdTableBuildersEqualScalar) {
  Rng rng(11);
  alignas(64) std::int8_t q[2 * 96 + 64] = {};
  for (int i = 0; i < 2 * 96; ++i) q[i] = static_cast<std::int8_t>(int(rng.below(256)) - 128);
  q[0] = q[1] = -128;
  alignas(64) std::uint8_t ref[96 * 32], got[96 * 32];
  tl1::build_tables_scalar(q, 96, ref);
  if (isa_runnable(Isa::kAvx2)) {
    tl1::build_tables_avx2(q, 96, got);
    EXPECT_EQ(0, std::memcmp(ref, got, sizeof ref)) << "avx2, seed 11";
  }
  if (isa_runnable(Isa::kAvx512)) {
    tl1::build_tables_avx512(q, 96, got);
    EXPECT_EQ(0, std::memcmp(ref, got, sizeof ref)) << "avx512, seed 11";
  }
}

TEST(TL2, TripleIndexSignAndRemainderByHand) {
  // Row 0: (1, -1, 0) -> v = 6; (-1, 1, 1) -> v = -5: index 5, sign 1; remainder column 6 = -1
  // (K = 7 = 3*2 + 1) -> TL1 pair (-1, 0) = index 1, with the zero pair (index 4) above it.
  TernaryMatrix w{1, 7, {1, -1, 0, -1, 1, 1, -1}, 1.0f};
  PackedWeights p;
  tl2::pack(w, {}, p);
  ASSERT_EQ(p.ld, tl2::kGroupBytes + tl2::kPairChunkBytes);  // one group of 8 triples + pair
  const auto* g = reinterpret_cast<const tl2::Group*>(p.data.data());
  EXPECT_EQ(g->idx[0][0], 0x56);  // triple 0 in the low nibble, triple 1 in the high nibble
  EXPECT_EQ(g->sign[0], 0u);
  EXPECT_EQ(g->sign[1], 1u);  // bit 0 = row 0
  for (int j = 2; j < 8; ++j) EXPECT_EQ(g->sign[j], 0u) << "padded triple " << j;
  for (int c = 1; c < 4; ++c) EXPECT_EQ(g->idx[c][0], 0) << "padded triples are index 0";
  EXPECT_EQ(p.data.data()[tl2::kGroupBytes], 0x41);
  EXPECT_EQ(p.extra.as<std::int32_t>()[0], 1) << "one negative triple";
  EXPECT_EQ(tl2::unpack(p).w, w.w);
}

TEST(TL2, TableEntriesFollowTheSpecList) {
  const int b0 = 100, b1 = -7, b2 = 3;
  const int expect[14] = {0,       b2,      b1 - b2,      b1,      b1 + b2,      b0 - b1 - b2,
                          b0 - b1, b0 - b1 + b2, b0 - b2, b0, b0 + b2, b0 + b1 - b2, b0 + b1,
                          b0 + b1 + b2};
  for (int i = 0; i < 14; ++i) EXPECT_EQ(tl2::entry(i, b0, b1, b2), expect[i]) << i;
  EXPECT_EQ(tl2::entry(13, -128, -128, -128), -384);
  static_assert(85 * 384 <= 32767 && 86 * 384 > 32767 && tl2::kMaxBlockTriples <= 85);
  for (int v = -13; v <= 13; ++v)  // |v| and the sign recover the triple
    EXPECT_EQ(tl2::triple_value(tl2::digit(v, 0), tl2::digit(v, 1), tl2::digit(v, 2)), v);
}

TEST(TL2, SimdTableBuildersEqualScalar) {
  Rng rng(12);
  alignas(64) std::int8_t q[3 * 88 + 64] = {};
  for (int i = 0; i < 3 * 88; ++i) q[i] = static_cast<std::int8_t>(int(rng.below(256)) - 128);
  q[0] = q[1] = q[2] = -128;
  alignas(64) std::uint8_t ref[88 * 32], got[88 * 32];
  tl2::build_tables_scalar(q, 88, ref);
  if (isa_runnable(Isa::kAvx2)) {
    tl2::build_tables_avx2(q, 88, got);
    EXPECT_EQ(0, std::memcmp(ref, got, sizeof ref)) << "avx2, seed 12";
  }
  if (isa_runnable(Isa::kAvx512)) {
    tl2::build_tables_avx512(q, 88, got);
    EXPECT_EQ(0, std::memcmp(ref, got, sizeof ref)) << "avx512, seed 12";
  }
}

TEST(TL, TilesThatCouldOverflowAreRefused) {
  TernaryMatrix w{4, 600, std::vector<std::int8_t>(2400, 1), 1.0f};
  for (int kb : {256, 254, 6, -4}) {
    const TileConfig t{0, 0, kb, 0};
    try {
      pack_weights(*find_kernel("tl1__scalar"), w, &t);
      FAIL() << "TL1 k_block " << kb << " accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("k_block = " + std::to_string(kb)), std::string::npos)
          << e.what();
    }
  }
  for (int kb : {264, 243, 12}) {
    const TileConfig t{0, 0, kb, 0};
    EXPECT_THROW(pack_weights(*find_kernel("tl2__scalar"), w, &t), std::invalid_argument) << kb;
  }
}

TEST(TL, TokenBlocksAreRuntimeParametersAndExact) {
  check::CaseData d;
  check::make_data({70, 500, 7, check::WeightData::kRandom, check::ActData::kUniform, 9}, d);
  const auto expected = check::oracle(d);
  ThreadPool pool(2);
  for (const char* name : {"tl1__avx512", "tl2__avx512"}) {
    const KernelInfo& k = *find_kernel(name);
    if (!runnable(k)) continue;
    for (int cb : {1, 2, 4}) {
      const TileConfig t{0, cb, 0, 0};
      PackedWeights p = pack_weights(k, d.w, &t);
      GemmWorkspace ws;
      prepare_activations(p, d.a, ws);
      std::vector<std::int32_t> got(expected.size());
      gemm_i32(p, ws.prepared, got.data(), 70, &pool);
      EXPECT_EQ(got, expected) << name << " col_block=" << cb << " (seed 9)";
    }
    const TileConfig bad{0, 3, 0, 0};
    EXPECT_THROW(pack_weights(k, d.w, &bad), std::invalid_argument) << name;
  }
}

// Every TL row at its largest allowed block, on the data that maximizes the int16 block sums
// (|entry| = 256 for TL1, 384 for TL2: all activations -128, all weights -1 or +1), at a long K.
TEST(TL, LargestBlocksAreExactOnWorstCaseData) {
  ThreadPool pool(1);
  for (auto [family, kb] : {std::pair<std::string_view, int>{"tl1", 2 * tl1::kMaxBlockPairs},
                            {"tl2", 3 * tl2::kMaxBlockTriples}}) {
    const TileConfig tile{0, 0, kb, 0};
    for (auto wd : {check::WeightData::kMinusOne, check::WeightData::kPlusOne})
      for (auto ad : {check::ActData::kAllMin, check::ActData::kAllMax}) {
        const check::Case c{70, 6 * kb + 2, 5, wd, ad, 3};
        check::CaseData d;
        check::make_data(c, d);
        const auto expected = check::oracle(d);
        for (const KernelInfo* k : rows_of(family)) {
          PackedWeights p = pack_weights(*k, d.w, &tile);
          GemmWorkspace ws;
          prepare_activations(p, d.a, ws);
          std::vector<std::int32_t> got(expected.size());
          gemm_i32(p, ws.prepared, got.data(), c.M, &pool);
          ASSERT_EQ(got, expected) << k->name << " k_block=" << kb << " " << c.label();
        }
      }
  }
}

// The limits are tight: one block size past them, the same data wraps int16 (the scalar kernels
// sum in int16 exactly like the SIMD ones), so the test above does reach the limits.
TEST(TL, BlocksPastTheLimitWouldOverflow) {
  check::CaseData d;
  check::make_data({64, 2 * 264, 1, check::WeightData::kMinusOne, check::ActData::kAllMin, 4}, d);
  const auto expected = check::oracle(d);
  std::vector<std::int32_t> got(expected.size());
  {
    PackedWeights p = pack_weights(*find_kernel("tl1__scalar"), d.w);
    GemmWorkspace ws;
    prepare_activations(p, d.a, ws);
    tl1::GemmArgs g{p.data.data(), p.ld, p.Kp / 2, ws.prepared.buf.data(), ws.prepared.ld_buf,
                    1, 0, 64, got.data(), 64, tl1::kMaxBlockPairs + 2, 1};
    tl1::gemm_scalar(g);
    EXPECT_NE(got, expected) << "TL1: 128 pairs of entry 256 should wrap int16";
    g.block_pairs = tl1::kMaxBlockPairs;
    tl1::gemm_scalar(g);
    EXPECT_EQ(got, expected);
  }
  {
    PackedWeights p = pack_weights(*find_kernel("tl2__scalar"), d.w);
    GemmWorkspace ws;
    prepare_activations(p, d.a, ws);
    tl2::GemmArgs g{};
    g.w = p.data.data();
    g.tile_bytes = p.ld;
    g.triples = 2 * 264 / 3 / 8 * 8;  // 176: K = 528 is 176 whole triples, no remainder
    g.nneg = p.extra.as<std::int32_t>();
    g.lut = ws.prepared.buf.data();
    g.ld_lut = ws.prepared.ld_buf;
    g.N = 1;
    g.m1 = 64;
    g.c = got.data();
    g.ldc = 64;
    g.block_triples = tl2::kMaxBlockTriples + 8;
    tl2::gemm_scalar(g);
    EXPECT_NE(got, expected) << "TL2: 88 complemented entries of 383 should wrap int16";
    g.block_triples = tl2::kMaxBlockTriples;
    tl2::gemm_scalar(g);
    EXPECT_EQ(got, expected);
  }
}

TEST(TL2Q8, TablesAreWithinHalfAScaleStepOfTheExactEntries) {
  Rng rng(13);
  alignas(64) std::int8_t q[3 * 40 + 64] = {};
  for (int i = 0; i < 3 * 40; ++i) q[i] = static_cast<std::int8_t>(int(rng.below(200)) - 100);
  q[4] = -128;
  alignas(64) std::uint8_t t16[40 * 32], t8[40 * 16], t8simd[40 * 16];
  tl2::build_tables_scalar(q, 40, t16);
  const float sigma = tl2::quantize_tables_scalar(t16, 40, t8);
  int mx = 0;
  for (int t = 0; t < 40; ++t)
    for (int i = 0; i < 14; ++i) {
      const int e = tl2::entry(i, q[3 * t], q[3 * t + 1], q[3 * t + 2]);
      mx = std::max(mx, std::abs(e));
      const double approx = sigma * (int(t8[t * 16 + i]) - 128);
      EXPECT_LE(std::fabs(approx - e), sigma / 2 * (1 + 1e-6)) << "triple " << t << " entry " << i;
    }
  EXPECT_EQ(sigma, static_cast<float>(mx) / 127.0f);
  if (isa_runnable(Isa::kAvx512)) {
    EXPECT_EQ(tl2::quantize_tables_avx512(t16, 40, t8simd), sigma);
    EXPECT_EQ(0, std::memcmp(t8, t8simd, sizeof t8)) << "seed 13";
  }
}

}  // namespace
}  // namespace tritbench
