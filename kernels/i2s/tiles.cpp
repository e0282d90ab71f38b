// The I2_S tile space: which micro-tiles, cache blocks and loop orders the AVX2 and AVX-512 VNNI
// kernels run, and the defaults they pick. The kernels (gemm_avx2.cpp, gemm_avx512vnni.cpp)
// instantiate exactly the (R, C) pairs accepted here; GemmArgs always carries a resolved tile.
//
// Fields read (kernels/api.h TileConfig):
//   rb  = R, weight rows per micro-tile (GEMV: rows computed together)
//   cb  = C, tokens per micro-tile
//   par = loop order: 0 activation-parallel (a block of rows stays in L1 while every token passes;
//         bitnet.cpp's x86 default), 1 weight-parallel (C tokens stay in L1 while all rows pass)
//   br  = rows per cache block in the activation-parallel order (0: half of L1d worth of rows)
// kb is not used (the I2_S block is fixed at 128 weights).
#include <algorithm>
#include <string>
#include <vector>

#include "kernels/cpu/cpu.h"
#include "kernels/i2s/format.h"
#include "kernels/i2s/i2s.h"

namespace tritbench::i2s {

namespace {

struct Rules {
  const char* isa;
  std::vector<int> rows;  // accepted R
  int max_acc;  // R*C limit
  bool gemv;  // N == 1 runs a streaming R-row loop (rb applies, cb/par/br do not)
  int gemv_rb, rb, cb;  // defaults
};

const Rules& rules_avx512vnni() {
  // Defaults from A/B runs on a Zen 5 (min of interleaved rounds, 2B-4T shapes): GEMM 5x4 was the
  // best or within 1% of it on all four shapes (4x4: -1..-3%), cold GEMV 2 rows (4 rows: -4..-20%).
  static const Rules r{"avx512vnni", {1, 2, 3, 4, 5, 6, 8}, 24, true, 2, 5, 4};
  return r;
}
const Rules& rules_avx2() {
  static const Rules r{"avx2", {1, 2, 4, 8}, 8, true, 4, 1, 4};
  return r;
}

std::string join(const std::vector<int>& v) {
  std::string s;
  for (int x : v) {
    if (!s.empty()) s += ',';
    s += std::to_string(x);
  }
  return s;
}

std::string check(const Rules& ru, const TileConfig& t) {
  const std::string who = std::string("i2s ") + ru.isa + " tile " + t.str() + ": ";
  if (t.row_block != 0 && std::find(ru.rows.begin(), ru.rows.end(), t.row_block) == ru.rows.end())
    return who + "rb must be one of " + join(ru.rows);
  if (t.col_block < 0 || t.col_block > 8) return who + "cb must be 1..8";
  if (t.row_block && t.col_block && t.row_block * t.col_block > ru.max_acc)
    return who + "rb*cb must be <= " + std::to_string(ru.max_acc) + " (accumulator registers)";
  if (t.k_block != 0) return who + "kb is not a parameter of I2_S (its block is 128 weights)";
  if (t.parallel != 0 && t.parallel != 1)
    return who + "par must be 0 (activation-parallel) or 1 (weight-parallel)";
  if (t.block_rows < 0 || t.block_rows > (1 << 20)) return who + "br must be 0 (auto) or 1..2^20";
  if (t.prefetch != 0) return who + "pf is not a parameter of I2_S (its look-ahead is fixed)";
  if (t.streams != 0) return who + "st is not a parameter of I2_S (a thread reads its rows as one range)";
  return {};
}

std::int64_t l1d_bytes() {
  static const std::int64_t bytes = [] {
    for (const auto& c : cpu_info().caches)
      if (c.level == 1 && c.type == "Data" && c.bytes > 0) return c.bytes;
    return std::int64_t{32 * 1024};
  }();
  return bytes;
}

TileConfig effective(const Rules& ru, const TileConfig& t, std::int64_t, std::int64_t K, std::int64_t N) {
  TileConfig e;
  if (N == 1 && ru.gemv) {
    e.row_block = t.row_block ? t.row_block : ru.gemv_rb;
    e.col_block = 1;
    return e;
  }
  // The default C, or the largest C that fits the accumulators beside a given R.
  int cb = t.col_block ? t.col_block : ru.cb;
  if (!t.col_block && t.row_block) cb = std::max(1, std::min(cb, ru.max_acc / t.row_block));
  e.col_block = static_cast<int>(std::min<std::int64_t>(cb, N));
  if (t.row_block) {
    e.row_block = t.row_block;
  } else {
    // The default R, or the largest accepted R that fits the accumulators beside cb.
    e.row_block = 1;
    for (int r : ru.rows)
      if (r <= (N == 1 ? ru.gemv_rb : ru.rb) && r * e.col_block <= ru.max_acc) e.row_block = r;
  }
  e.parallel = t.parallel;
  if (e.parallel == 0) {
    const std::int64_t ld = std::max<std::int64_t>(kBlockBytes, (K + kBlock - 1) / kBlock * kBlockBytes);
    const std::int64_t rows = t.block_rows ? t.block_rows : l1d_bytes() / 2 / ld;
    e.block_rows = static_cast<int>(std::max<std::int64_t>(e.row_block, rows / e.row_block * e.row_block));
  }
  return e;
}

std::vector<TileConfig> candidates(const Rules& ru, std::int64_t, std::int64_t, std::int64_t N) {
  std::vector<TileConfig> out;
  if (N == 1) {
    for (int r : ru.rows) out.push_back({r, ru.gemv ? 0 : 1, 0, 0, 0});
    return out;
  }
  // Tiles that fill at least a third of the accumulators (smaller ones leave vpdpbusd/maddubs
  // latency uncovered), or every tile when the batch is that small; both loop orders.
  const int cmax = static_cast<int>(std::min<std::int64_t>(8, N));
  for (int par : {0, 1})
    for (int r : ru.rows)
      for (int c = 1; c <= cmax; ++c)
        if (r * c <= ru.max_acc && (r * c * 3 >= ru.max_acc || c == cmax || N < 8))
          out.push_back({r, c, 0, par, 0});
  return out;
}

std::string check_avx512vnni(const TileConfig& t) { return check(rules_avx512vnni(), t); }
TileConfig effective_avx512vnni(const TileConfig& t, std::int64_t M, std::int64_t K, std::int64_t N) {
  return effective(rules_avx512vnni(), t, M, K, N);
}
std::vector<TileConfig> candidates_avx512vnni(std::int64_t M, std::int64_t K, std::int64_t N) {
  return candidates(rules_avx512vnni(), M, K, N);
}
std::string check_avx2(const TileConfig& t) { return check(rules_avx2(), t); }
TileConfig effective_avx2(const TileConfig& t, std::int64_t M, std::int64_t K, std::int64_t N) {
  return effective(rules_avx2(), t, M, K, N);
}
std::vector<TileConfig> candidates_avx2(std::int64_t M, std::int64_t K, std::int64_t N) {
  return candidates(rules_avx2(), M, K, N);
}

}  // namespace

// The I2_S layout does not depend on the tile (pack.cpp).
const TileSpace kTilesAvx512Vnni{check_avx512vnni, effective_avx512vnni, candidates_avx512vnni, false};
const TileSpace kTilesAvx2{check_avx2, effective_avx2, candidates_avx2, false};
// The same tiles for rows that state one tiling (bitnet.cpp's): no candidates, so the tuner and
// tuning files leave them alone (kernels/runtime/tuning.h), while --tile can still override them.
const TileSpace kTilesAvx512VnniFixed{check_avx512vnni, effective_avx512vnni, no_tile_candidates, false};
const TileSpace kTilesAvx2Fixed{check_avx2, effective_avx2, no_tile_candidates, false};

}  // namespace tritbench::i2s
