// I2_R16 AVX-512 tile: br (rows per L2 block of a batch), pf (software prefetch distance) and st
// (weight streams per thread of a single-token GEMV). All only steer the loop over the same packed
// bytes, so one packing serves every tile.
#include <string>
#include <vector>

#include "kernels/cpu/cpu.h"
#include "kernels/i2r/format.h"
#include "kernels/i2r/i2r.h"

namespace tritbench::i2r {

namespace {

std::string check(const TileConfig& t) {
  const std::string who = "i2r tile " + t.str() + ": ";
  if (t.row_block || t.col_block || t.k_block || t.parallel)
    return who + "I2_R16 takes only br, pf and st (rows are computed in quads of 64, tokens one by one)";
  if (t.block_rows < 0 || t.block_rows % kQuadRows != 0 || t.block_rows > (1 << 20))
    return who + "br must be 0 (about " + std::to_string(kBlockBytes / 1024) +
           " KiB of weights) or a multiple of 64 up to 2^20";
  if (t.prefetch < 0 || t.prefetch % 256 != 0 || t.prefetch > kMaxPrefetch)
    return who + "pf must be 0 (no software prefetch) or a multiple of 256 up to " +
           std::to_string(kMaxPrefetch);
  if (t.streams < 0 || t.streams > 4 || t.streams == 3)
    return who +
           "st must be 0 or 1 (one weight stream per thread), 2 or 4 (two or four: see README.md)";
  return {};
}

TileConfig effective(const TileConfig& t, std::int64_t, std::int64_t K, std::int64_t N) {
  TileConfig e;
  // br only matters when a batch walks the blocks; a GEMV reports none.
  if (N > 1) e.block_rows = t.block_rows ? t.block_rows : int(default_block_rows(round_up(K, kCols)));
  e.prefetch = t.prefetch;
  // st only matters for a single token (batches walk L2 blocks); 1 is reported as the default 0.
  if (N == 1 && t.streams >= 2) e.streams = gemv_streams(t.streams);
  return e;
}

// Prefetch off, 1, 4 and 16 KiB ahead (the distance is per stream: 1 KiB suits four streams);
// for a single token each with one, two and (with GFNI) four weight streams, for batches with
// blocks of half, once and twice the default size.
std::vector<TileConfig> candidates(std::int64_t, std::int64_t K, std::int64_t N) {
  std::vector<TileConfig> c;
  const int def = int(default_block_rows(round_up(K, kCols)));
  std::vector<int> brs{0};
  if (N > 1)
    for (int br : {def / 2 / kQuadRows * kQuadRows, def * 2})
      if (br >= kQuadRows && br != def) brs.push_back(br);
  std::vector<int> sts{0};
  if (N == 1) sts = gemv_streams(4) == 4 ? std::vector<int>{0, 2, 4} : std::vector<int>{0, 2};
  for (int pf : {0, 1024, 4096, 16384})
    for (int br : brs)
      for (int st : sts) {
        TileConfig t;
        t.block_rows = br;
        t.prefetch = pf;
        t.streams = st;
        c.push_back(t);
      }
  return c;
}

}  // namespace

int gemv_streams(int st) {
  static const bool gfni = cpu_has("gfni");
  return st == 4 && !gfni ? 2 : st;
}

const TileSpace kTiles{check, effective, candidates, false};
const TileSpace kTilesFixed{check, effective, no_tile_candidates, false};

}  // namespace tritbench::i2r
