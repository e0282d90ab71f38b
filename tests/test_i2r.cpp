// I2_R16 specifics: the row-interleaved tile layout checked by hand, padding, the K limit of
// the masked-plane GEMV accumulators, and the AVX-512 row's tile (br, pf).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "harness/lib/check.h"
#include "kernels/cpu/cpu.h"
#include "kernels/i2r/format.h"
#include "kernels/i2r/i2r.h"
#include "kernels/registry.h"
#include "kernels/runtime/gemm.h"

namespace tritbench {
namespace {

TEST(I2R, TileLayoutByHand) {
  // 20 x 40: two row groups of one quad (rows padded to 64), Kp = 48 (three column tiles; each holds
  // the quad's four 64-byte group tiles one after another). All weights 0 (code 1) except
  // (17, 21) = +1 and (3, 0) = -1.
  TernaryMatrix w{20, 40, std::vector<std::int8_t>(800, 0), 1.0f};
  w.w[17 * 40 + 21] = 1;
  w.w[3 * 40 + 0] = -1;
  PackedWeights p;
  i2r::pack(w, {}, p);
  ASSERT_EQ(p.Mp, 64);
  ASSERT_EQ(p.Kp, 48);
  ASSERT_EQ(p.data.size(), 64u * 48 / 4);
  // (17, 21): column tile 1 (+256), group 1 of the quad (+64), row 1 (+4), column 21 = 16 + 4*1 + 1:
  // plane 1 (bits 3:2) of byte j = 1.
  const std::size_t at = 256 + 64 + 4 + 1;
  // (3, 0): group 0, tile 0, row 3 (byte 12), plane 0 (bits 1:0), j = 0.
  for (std::size_t i = 0; i < p.data.size(); ++i) {
    const std::uint8_t expect = i == at ? 0x59 : i == 12 ? 0x54 : 0x55;
    ASSERT_EQ(p.data.data()[i], expect) << "byte " << i;
  }
  EXPECT_EQ(i2r::unpack(p).w, w.w);
}

TEST(I2R, KBeyondTheAccumulatorBoundIsRefused) {
  TernaryMatrix w{1, i2r::kMaxK + 1, std::vector<std::int8_t>(i2r::kMaxK + 1, 0), 1.0f};
  try {
    pack_weights(*find_kernel("i2r__scalar"), w);
    FAIL() << "K = 2^19 + 1 accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("K = 524289"), std::string::npos) << e.what();
  }
}

// Every tile the tuner proposes, and the extremes of the fields, give the oracle's bits: row
// blocks of one quad and of several, a prefetch one tile ahead and 1 MiB ahead (far past the end
// of these matrices: a prefetch never faults), one, two and four weight streams (st=2 on GEMVs of
// one quad, where it falls back to one stream, and of even and odd quad counts per thread: 330 rows
// are 6 quads, 3 per thread at 2 threads; st=4 on 16 quads (four of each stream at 1 thread), on
// 1100 rows = 18 quads, whose parts of 4 and 5 quads at 1 thread and of 2 and 3 at 2 threads leave
// two quads (a pair) and one for the end, on 440 rows = 7 quads, three left at 1 thread (a pair
// and one alone), and on two or three quads a thread, read as four pieces that start inside
// quads and cross into the next (2 and 3 quads: 200 and 330 rows at 2 threads, 130 rows at 1;
// one quad, 64 x 2560, reads one stream), K = 777 and 40 (49 and 3 column tiles, so four equal
// pieces leave one to three tiles, which run alone), K = 16 (one column tile: 70 rows = 2 quads,
// and 300 rows' 2 and 3 quads a thread, are too few tiles for four streams and read two)), on M
// and K tails, GEMV and batches, 1 and 2 threads.
TEST(I2R, EveryTileIsExact) {
  const KernelInfo& k = *find_kernel("i2r__avx512vnni");
  if (!runnable(k)) GTEST_SKIP() << k.name << ": " << why_not_runnable(k.isa);
  std::vector<TileConfig> tiles{{0, 0, 0, 0, 64, 256},
                                {0, 0, 0, 0, 192, i2r::kMaxPrefetch},
                                {0, 0, 0, 0, 0, 256, 2},
                                {0, 0, 0, 0, 0, i2r::kMaxPrefetch, 2},
                                {0, 0, 0, 0, 0, 0, 4},
                                {0, 0, 0, 0, 0, 256, 4},
                                {0, 0, 0, 0, 0, i2r::kMaxPrefetch, 4}};
  for (std::int64_t N : {1, 3, 128})
    for (const TileConfig& t : k.tiles->candidates(2560, 2560, N)) tiles.push_back(t);
  ThreadPool one(1), two(2);
  const check::Case cases[] = {
      {200, 389, 5, check::WeightData::kRandom, check::ActData::kUniform, 21},
      {64, 2560, 1, check::WeightData::kRandom, check::ActData::kGaussian, 22},
      {130, 1000, 17, check::WeightData::kPlusOne, check::ActData::kAllMin, 23},
      {330, 777, 1, check::WeightData::kRandom, check::ActData::kGaussian, 24},
      {200, 2560, 1, check::WeightData::kMinusOne, check::ActData::kAllMax, 25},
      {130, 1000, 1, check::WeightData::kPlusOne, check::ActData::kAllMin, 26},
      {1024, 777, 1, check::WeightData::kRandom, check::ActData::kUniform, 27},
      {1100, 2560, 1, check::WeightData::kMinusOne, check::ActData::kAllMax, 28},
      {1100, 777, 1, check::WeightData::kRandom, check::ActData::kGaussian, 29},
      {440, 1000, 1, check::WeightData::kRandom, check::ActData::kUniform, 30},
      {130, 40, 1, check::WeightData::kRandom, check::ActData::kGaussian, 31},
      {300, 16, 1, check::WeightData::kRandom, check::ActData::kUniform, 32},
      {70, 16, 1, check::WeightData::kPlusOne, check::ActData::kAllMax, 33},
      {640, 2560, 1, check::WeightData::kRandom, check::ActData::kGaussian, 34},
  };
  for (const auto& c : cases) {
    check::CaseData d;
    check::make_data(c, d);
    const auto expected = check::oracle(d);
    for (const TileConfig& t : tiles)
      for (ThreadPool* pool : {&one, &two}) {
        const auto r = check::run(k, c, d, expected, *pool, &t);
        ASSERT_TRUE(r.pass) << "tile " << t.str() << ": " << r.describe();
      }
  }
}

TEST(I2R, RefusedTilesNameTheField) {
  const KernelInfo& k = *find_kernel("i2r__avx512vnni");
  check::CaseData d;
  check::make_data({8, 256, 2}, d);
  const std::pair<TileConfig, const char*> bad[] = {{{4, 0, 0, 0, 0, 0}, "takes only br, pf and st"},
                                                    {{0, 0, 0, 0, 0, 0, 3}, "st must"},
                                                    {{0, 0, 0, 0, 0, 0, 5}, "st must"},
                                                    {{0, 0, 0, 0, 65, 0}, "br must"},
                                                    {{0, 0, 0, 0, 0, 100}, "pf must"},
                                                    {{0, 0, 0, 0, 0, i2r::kMaxPrefetch + 256}, "pf must"}};
  for (const auto& [t, field] : bad) {
    EXPECT_NE(k.tiles->check(t).find(field), std::string::npos) << t.str() << ": " << k.tiles->check(t);
    try {
      pack_weights(k, d.w, &t);
      ADD_FAILURE() << "packed with refused tile " << t.str();
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
    }
  }
  // The fixed-tile row runs its own prefetch distance, and the tuner leaves it alone.
  const KernelInfo& pf = *find_kernel("i2r_pf__avx512vnni");
  EXPECT_EQ(pf.tile.prefetch, 4096);
  EXPECT_TRUE(pf.tiles->candidates(2560, 2560, 1).empty());
  const KernelInfo& two = *find_kernel("i2r_2s__avx512vnni");
  EXPECT_EQ(two.tile.prefetch, 4096);
  EXPECT_EQ(two.tile.streams, 2);
  EXPECT_TRUE(two.tiles->candidates(2560, 2560, 1).empty());
  // st is reported for a single token only (a batch walks L2 blocks, whatever st says).
  EXPECT_EQ(two.tiles->effective(two.tile, 2560, 2560, 1).str(), "pf=4096,st=2");
  EXPECT_EQ(two.tiles->effective(two.tile, 2560, 2560, 8).streams, 0);
  // The four-stream row needs GFNI; without it the tile it reports is the two streams it reads.
  const KernelInfo& four = *find_kernel("i2r_4s__avx512vnni");
  EXPECT_EQ(four.tile.streams, 4);
  EXPECT_EQ(four.tile.prefetch, 1024);
  EXPECT_TRUE(four.tiles->candidates(2560, 2560, 1).empty());
  const bool gfni = cpu_has("gfni");
  EXPECT_EQ(four.tiles->effective(four.tile, 2560, 2560, 1).str(),
            gfni ? "pf=1024,st=4" : "pf=1024,st=2");
  EXPECT_EQ(four.tiles->effective(four.tile, 2560, 2560, 8).streams, 0);
  const auto sts = k.tiles->candidates(2560, 2560, 1);
  const auto four_streams = [](const TileConfig& t) { return t.streams == 4; };
  EXPECT_EQ(std::count_if(sts.begin(), sts.end(), four_streams), gfni ? 4 : 0);
}

}  // namespace
}  // namespace tritbench
