// TL1 and TL2 tiles: only k_block (the int16 accumulation block, in weights) is a parameter; its
// limits are the packers' own checks (block_pairs / block_triples), so the tuner and `--tile`
// can never pick a block whose int16 sums overflow.
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/tl1/format.h"
#include "kernels/tl1/tl1.h"
#include "kernels/tl2/format.h"
#include "kernels/tl2/tl2.h"

namespace tritbench {

namespace {

template <int (*Blocks)(const TileConfig&), int WeightsPerUnit>
std::string check(const TileConfig& t) {
  if (t.row_block || t.col_block || t.parallel || t.block_rows)
    return "this row's tile has only k_block (got " + t.str() + ")";
  try {
    Blocks(t);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return {};
}

template <int (*Blocks)(const TileConfig&), int WeightsPerUnit>
TileConfig effective(const TileConfig& t, std::int64_t, std::int64_t, std::int64_t) {
  TileConfig e;
  e.k_block = Blocks(t) * WeightsPerUnit;
  return e;
}

std::vector<TileConfig> tl1_candidates(std::int64_t, std::int64_t, std::int64_t) {
  std::vector<TileConfig> c;
  for (int kb : {64, 128, 192, 2 * tl1::kMaxBlockPairs / 4 * 4}) c.push_back({0, 0, kb, 0, 0});
  return c;
}

std::vector<TileConfig> tl2_candidates(std::int64_t, std::int64_t, std::int64_t) {
  std::vector<TileConfig> c;
  for (int triples = tl2::kGroupTriples; triples <= tl2::kMaxBlockTriples; triples += 3 * tl2::kGroupTriples)
    c.push_back({0, 0, 3 * triples, 0, 0});
  return c;
}

}  // namespace

namespace tl1 {
const TileSpace kTiles{check<tl1::block_pairs, 2>, effective<tl1::block_pairs, 2>, tl1_candidates, true};
}
namespace tl2 {
const TileSpace kTiles{check<tl2::block_triples, 3>, effective<tl2::block_triples, 3>, tl2_candidates, true};
}

}  // namespace tritbench
