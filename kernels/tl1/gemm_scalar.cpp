// TL1, portable. Same arithmetic as the SIMD kernels: each lookup reassembles the int16 entry from
// its low and high byte tables, sums wrap in int16 within a block (C++20 conversions are modular),
// and blocks are widened to int32. So a block bound that were too large would fail here too. Each
// weight row's indices are decoded once and reused for every token.
#include <vector>

#include "kernels/tl1/format.h"

namespace tritbench::tl1 {

void build_tables_scalar(const std::int8_t* q, std::int64_t pairs, std::uint8_t* out) {
  for (std::int64_t p = 0; p < pairs; ++p) {
    Table& t = reinterpret_cast<Table*>(out)[p];
    for (unsigned i = 0; i < 16; ++i) {
      const auto e = static_cast<std::uint16_t>(entry(i, q[2 * p], q[2 * p + 1]));
      t.lo[i] = static_cast<std::uint8_t>(e & 0xFF);
      t.hi[i] = static_cast<std::uint8_t>(e >> 8);
    }
  }
}

void gemm_scalar(const GemmArgs& a) {
  constexpr int kTokens = 4;  // tokens per pass over a row's indices (independent sums)
  std::vector<std::uint8_t> idx(static_cast<std::size_t>(a.pairs));
  for (std::int64_t m = a.m0; m < a.m1; ++m) {
    const std::uint8_t* tile = a.w + (m / kTileRows) * a.tile_bytes + (m % kTileRows);
    for (std::int64_t p = 0; p < a.pairs; ++p)
      idx[p] = (tile[(p / 2) * kChunkBytes] >> (4 * (p % 2))) & 0xF;
    for (std::int64_t n0 = 0; n0 < a.N; n0 += kTokens) {
      const int C = static_cast<int>(a.N - n0 < kTokens ? a.N - n0 : kTokens);
      const Table* lut[kTokens];
      std::int32_t acc[kTokens] = {};
      for (int j = 0; j < C; ++j)
        lut[j] = reinterpret_cast<const Table*>(a.lut + (n0 + j) * a.ld_lut);
      for (std::int64_t p0 = 0; p0 < a.pairs; p0 += a.block_pairs) {
        const std::int64_t p1 = p0 + a.block_pairs < a.pairs ? p0 + a.block_pairs : a.pairs;
        std::int16_t block[kTokens] = {};
        for (std::int64_t p = p0; p < p1; ++p) {
          const int i = idx[p];
          for (int j = 0; j < C; ++j)
            block[j] =
                static_cast<std::int16_t>(block[j] + (lut[j][p].lo[i] | (lut[j][p].hi[i] << 8)));
        }
        for (int j = 0; j < C; ++j) acc[j] += block[j];
      }
      for (int j = 0; j < C; ++j) a.c[(n0 + j) * a.ldc + m] = acc[j];
    }
  }
}

}  // namespace tritbench::tl1
