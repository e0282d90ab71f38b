// Tiles: every tile a tunable row accepts is exact (through check::run, like the registry rows),
// tiles it refuses are refused with the reason, and the tuning runtime picks tiles as documented.
#include <gtest/gtest.h>

#include <map>

#include "harness/lib/check.h"
#include "kernels/registry.h"
#include "kernels/runtime/gemm.h"
#include "kernels/runtime/tuning.h"

namespace tritbench {
namespace {

// Every tile of the grid rb, cb in 0..9, par in 0..2, br in {0, rb, 3*rb + 1} the row accepts.
std::vector<TileConfig> accepted_tiles(const KernelInfo& k) {
  std::vector<TileConfig> out;
  for (int rb = 0; rb <= 9; ++rb)
    for (int cb = 0; cb <= 9; ++cb)
      for (int par = 0; par <= 2; ++par)
        for (int br : {0, rb, 3 * rb + 1}) {
          const TileConfig t{rb, cb, 0, par, br};
          if (par == 1 && br != 0) continue;  // br is not read in the weight-parallel order
          if (k.tiles->check(t).empty() &&
              std::find(out.begin(), out.end(), t) == out.end())
            out.push_back(t);
        }
  return out;
}

// The rows with the I2_S micro-tile grammar (rb x cb, cache block rows, loop order) that these
// tests spell out. The TL rows' tiles have only k_block; tests/test_tl.cpp covers those.
std::vector<std::string> tunable_rows() {
  std::vector<std::string> n;
  for (const auto& k : registry())
    if (k.tiles && k.format == "I2_S") n.emplace_back(k.name);
  return n;
}

class TileTest : public ::testing::TestWithParam<std::string> {
 protected:
  const KernelInfo& kernel() const { return *find_kernel(GetParam()); }
};

TEST_P(TileTest, EveryAcceptedTileIsExact) {
  const KernelInfo& k = kernel();
  if (!runnable(k)) GTEST_SKIP() << k.name << ": " << why_not_runnable(k.isa);
  const auto tiles = accepted_tiles(k);
  ASSERT_GE(tiles.size(), 8u) << k.name << " accepts almost no tile";
  ThreadPool one(1), two(2);
  // Cases per tile: tails in both M and N (37 rows, 2C+1 tokens, K not a block multiple), exact
  // multiples, the GEMV path, and extreme data over a long K (no int16 stage may overflow).
  std::map<std::tuple<std::int64_t, std::int64_t, std::int64_t, int>, std::pair<check::CaseData, std::vector<std::int32_t>>> cache;
  auto data = [&](const check::Case& c) -> const std::pair<check::CaseData, std::vector<std::int32_t>>& {
    auto& slot = cache[{c.M, c.K, c.N, static_cast<int>(c.weights)}];
    if (slot.second.empty()) {
      check::make_data(c, slot.first);
      slot.second = check::oracle(slot.first);
    }
    return slot;
  };
  for (const TileConfig& t : tiles) {
    const int R = std::max(1, t.row_block), C = std::max(1, t.col_block);
    const check::Case cases[] = {
        {37, 389, 2 * C + 1, check::WeightData::kRandom, check::ActData::kUniform, 11},
        {4 * R, 256, C, check::WeightData::kRandom, check::ActData::kGaussian, 12},
        {13, 1000, 1, check::WeightData::kRandom, check::ActData::kUniform, 13},
        {R + 1, 4096, C, check::WeightData::kPlusOne, check::ActData::kAllMin, 14},
    };
    for (const auto& c : cases) {
      const auto& [d, expected] = data(c);
      for (ThreadPool* pool : {&one, &two}) {
        const auto r = check::run(k, c, d, expected, *pool, &t);
        ASSERT_TRUE(r.pass) << "tile " << t.str() << ": " << r.describe();
      }
    }
  }
}

TEST_P(TileTest, RefusedTilesNameTheField) {
  const KernelInfo& k = kernel();
  if (!runnable(k)) GTEST_SKIP() << k.name << ": " << why_not_runnable(k.isa);
  check::CaseData d;
  check::make_data({8, 256, 2}, d);
  const std::pair<TileConfig, const char*> bad[] = {
      {{7, 1, 0, 0, 0}, "rb must"}, {{1, 9, 0, 0, 0}, "cb must"}, {{8, 8, 0, 0, 0}, "rb*cb must"},
      {{1, 1, 64, 0, 0}, "kb is not"}, {{1, 1, 0, 2, 0}, "par must"}};
  for (const auto& [t, field] : bad) {
    const std::string why = k.tiles->check(t);
    EXPECT_NE(why.find(field), std::string::npos) << k.name << " tile " << t.str() << ": '" << why << "'";
    try {
      pack_weights(k, d.w, &t);
      ADD_FAILURE() << k.name << " packed with refused tile " << t.str();
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
    }
  }
}

TEST_P(TileTest, EffectiveTileIsExplicitAndStable) {
  const KernelInfo& k = kernel();
  for (std::int64_t N : {1, 2, 5, 128}) {
    const TileConfig e = k.tiles->effective(k.tile, 2560, 2560, N);
    EXPECT_TRUE(k.tiles->check(e).empty()) << k.name << ": " << e.str();
    EXPECT_GE(e.row_block, 1) << k.name;
    EXPECT_GE(e.col_block, 1) << k.name;
    EXPECT_LE(e.col_block, N) << k.name;
    // Resolving an explicit tile changes nothing: tuned entries store effective tiles.
    EXPECT_EQ(k.tiles->effective(e, 2560, 2560, N), e) << k.name << " N=" << N << ": " << e.str();
  }
  for (std::int64_t N : {1, 3, 128})
    for (const TileConfig& t : k.tiles->candidates(2560, 2560, N))
      EXPECT_TRUE(k.tiles->check(t).empty()) << k.name << " proposes refused tile " << t.str();
}

INSTANTIATE_TEST_SUITE_P(Registry, TileTest, ::testing::ValuesIn(tunable_rows()),
                         [](const auto& param_info) { return param_info.param; });

// For every row with a tile space (I2_S and TL alike): the proposed candidates are accepted, their
// effective tiles are fixed points, and the registry default resolves to an accepted tile.
TEST(Tiles, EveryTileSpaceProposesOnlyTilesItAccepts) {
  for (const auto& k : registry()) {
    if (!k.tiles) continue;
    for (std::int64_t N : {1, 3, 128}) {
      const TileConfig d = k.tiles->effective(k.tile, 2560, 6912, N);
      EXPECT_TRUE(k.tiles->check(d).empty()) << k.name << " default resolves to " << d.str();
      for (const TileConfig& t : k.tiles->candidates(2560, 6912, N)) {
        EXPECT_TRUE(k.tiles->check(t).empty()) << k.name << " proposes refused tile " << t.str();
        const TileConfig e = k.tiles->effective(t, 2560, 6912, N);
        EXPECT_EQ(k.tiles->effective(e, 2560, 6912, N), e) << k.name << ": " << e.str();
      }
    }
  }
}

TEST(Tiles, RowsWithoutTileSpaceRefuseOtherTiles) {
  const KernelInfo& k = *find_kernel("naive__scalar");
  check::CaseData d;
  check::make_data({4, 8, 1}, d);
  const TileConfig t{4, 4, 0, 0, 0};
  EXPECT_THROW(pack_weights(k, d.w, &t), std::invalid_argument);
  EXPECT_THROW(choose_tile(k, 4, 8, 1, 1, false, &t), std::invalid_argument);
  const TileConfig own = k.tile;
  EXPECT_EQ(choose_tile(k, 4, 8, 1, 1, false, &own).source, "override");
}

TEST(Tiles, ParseTile) {
  EXPECT_EQ(parse_tile("rb=4,cb=3,par=1,br=32,kb=64"), (TileConfig{4, 3, 64, 1, 32}));
  EXPECT_EQ(parse_tile(""), TileConfig{});
  EXPECT_EQ(parse_tile("default"), TileConfig{});
  EXPECT_EQ(parse_tile("cb=2"), (TileConfig{0, 2, 0, 0, 0}));
  EXPECT_EQ(parse_tile("br=128,pf=4096"), (TileConfig{0, 0, 0, 0, 128, 4096}));
  EXPECT_EQ(parse_tile(TileConfig{0, 0, 0, 0, 128, 4096}.str()), (TileConfig{0, 0, 0, 0, 128, 4096}));
  const TileConfig t{6, 3, 0, 1, 24};
  EXPECT_EQ(parse_tile(t.str()), t);
  for (const char* bad : {"rb", "rb=", "rb=x", "rb=-1", "zz=3", "rb=4;cb=4", "rb=4x"}) {
    try {
      parse_tile(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
    }
  }
}

TEST(Tuning, ClassesRoundUpToPowersOfTwo) {
  EXPECT_EQ(shape_class(2560, 2560), "m4096.k4096");
  EXPECT_EQ(shape_class(4096, 4096), "m4096.k4096");
  EXPECT_EQ(shape_class(640, 6912), "m1024.k8192");
  EXPECT_EQ(batch_class(1), 1);
  EXPECT_EQ(batch_class(65), 128);
  EXPECT_EQ(batch_class(128), 128);
}

TEST(Tuning, ChooseTileOverrideThenTunedThenDefault) {
  // I2_S rows: the tiles below (rb, cb, par) are I2_S tiles.
  const KernelInfo* k = find_kernel("i2s__avx512vnni");
  const KernelInfo* fixed = find_kernel("i2s_ap__avx512vnni");
  ASSERT_NE(k, nullptr);
  ASSERT_NE(fixed, nullptr);
  EXPECT_FALSE(tunable(*find_kernel("i2s_ap__avx512vnni")));
  EXPECT_FALSE(tunable(*find_kernel("i2s_wp__avx2")));
  EXPECT_TRUE(tunable(*find_kernel("i2s__avx512vnni")));
  EXPECT_FALSE(tunable(*find_kernel("naive__scalar")));

  set_active_tuning(nullptr);
  EXPECT_EQ(choose_tile(*k, 2560, 2560, 128, 1, false).source, "default");

  auto table = std::make_shared<TuningTable>();
  TuningEntry e;
  e.kernel = std::string(k->name);
  e.shape_class = shape_class(2560, 2560);
  e.batch_class = 128;
  e.threads = 1;
  e.tile = {2, 2, 0, 1, 0};
  table->put(e);
  TuningEntry fe = e;
  fe.kernel = std::string(fixed->name);
  table->put(fe);
  e.tile = {1, 2, 0, 1, 0};
  table->put(e);  // replaces the first entry
  ASSERT_EQ(table->entries.size(), 2u);
  TuningEntry he = e;  // the same key tuned with the weights in cache: an entry of its own
  he.hot = true;
  he.tile = {4, 1, 0, 1, 0};
  table->put(he);
  ASSERT_EQ(table->entries.size(), 3u);
  set_active_tuning(table);

  const TileChoice tuned = choose_tile(*k, 3000, 2100, 100, 1, false);  // same classes
  EXPECT_EQ(tuned.source, "tuned");
  EXPECT_EQ(tuned.tile, (TileConfig{1, 2, 0, 1, 0}));
  const TileChoice tuned_hot = choose_tile(*k, 3000, 2100, 100, 1, true);
  EXPECT_EQ(tuned_hot.source, "tuned");
  EXPECT_EQ(tuned_hot.tile, (TileConfig{4, 1, 0, 1, 0})) << "a hot run takes the entry tuned hot";
  EXPECT_EQ(choose_tile(*k, 2560, 2560, 128, 2, false).source, "default") << "other thread count";
  EXPECT_EQ(choose_tile(*k, 2560, 2560, 129, 1, false).source, "default") << "other batch class";
  EXPECT_EQ(choose_tile(*k, 2560, 8192, 128, 1, false).source, "default") << "other shape class";
  EXPECT_EQ(choose_tile(*fixed, 2560, 2560, 128, 1, false).source, "default") << "fixed-tile rows stay fixed";
  const TileConfig o{1, 1, 0, 0, 0};
  EXPECT_EQ(choose_tile(*k, 2560, 2560, 128, 1, false, &o).source, "override");
  auto only_hot = std::make_shared<TuningTable>();
  only_hot->put(he);
  set_active_tuning(only_hot);
  EXPECT_EQ(choose_tile(*k, 2560, 2560, 128, 1, false).source, "default")
      << "a DRAM run does not take a tile tuned in cache";
  set_active_tuning(nullptr);
}

}  // namespace
}  // namespace tritbench
