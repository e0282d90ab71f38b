// TL1 and TL2 tiles: k_block (the int16 accumulation block, in weights) for every row, plus
// col_block (tokens per pass over a 64-row tile: 1, 2 or 4) for the exact AVX-512 rows. The limits
// are the packers' own checks (block_pairs / block_triples / col_block), so the tuner and `--tile`
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

// The col_block validator of rows that have no token block.
int no_cols(const TileConfig& t) {
  if (t.col_block)
    throw std::invalid_argument("this row's tile has only k_block (got " + t.str() + ")");
  return 0;
}

// Cols: the row's col_block validator (no_cols for rows without one).
template <int (*Blocks)(const TileConfig&), int (*Cols)(const TileConfig&)>
std::string check(const TileConfig& t) {
  if (t.row_block || t.parallel || t.block_rows || t.prefetch || t.streams)
    return "TL tiles take only k_block (and col_block on the exact AVX-512 rows); got " + t.str();
  try {
    Blocks(t);
    Cols(t);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return {};
}

template <int (*Blocks)(const TileConfig&), int WeightsPerUnit, int (*Cols)(const TileConfig&)>
TileConfig effective(const TileConfig& t, std::int64_t, std::int64_t, std::int64_t) {
  TileConfig e;
  e.k_block = Blocks(t) * WeightsPerUnit;
  e.col_block = Cols(t);
  return e;
}

// The k_block candidates crossed with the token blocks 1, 2, 4 (only those a batch of N can use).
template <std::vector<TileConfig> (*Kb)(std::int64_t, std::int64_t, std::int64_t)>
std::vector<TileConfig> with_cols(std::int64_t M, std::int64_t K, std::int64_t N) {
  std::vector<TileConfig> c;
  for (const TileConfig& t : Kb(M, K, N))
    for (int cb : {1, 2, 4})
      if (cb == 1 || cb <= N) {
        TileConfig x = t;
        x.col_block = cb;
        c.push_back(x);
      }
  return c;
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
const TileSpace kTiles{check<block_pairs, no_cols>, effective<block_pairs, 2, no_cols>, tl1_candidates,
                       true};
const TileSpace kTilesAvx512{check<block_pairs, col_block>, effective<block_pairs, 2, col_block>,
                             with_cols<tl1_candidates>, true};
}  // namespace tl1
namespace tl2 {
const TileSpace kTiles{check<block_triples, no_cols>, effective<block_triples, 3, no_cols>,
                       tl2_candidates, true};
const TileSpace kTilesAvx512{check<block_triples, col_block>, effective<block_triples, 3, col_block>,
                             with_cols<tl2_candidates>, true};
}  // namespace tl2

}  // namespace tritbench
