// TL2, portable. Same arithmetic as the SIMD kernels: int16 entries reassembled from their byte
// tables, negative triples complemented (~e) with the per-row count added back, int16 block sums
// that wrap (C++20 conversions are modular) widened to int32 per block, the remainder pair as a
// TL1 lookup. So a block bound that were too large would fail here too. Each weight row is decoded
// once (index and sign per triple) and then reused for every token.
#include <vector>

#include "kernels/tl1/format.h"
#include "kernels/tl2/format.h"

namespace tritbench::tl2 {

void build_tables_scalar(const std::int8_t* q, std::int64_t triples, std::uint8_t* out) {
  for (std::int64_t t = 0; t < triples; ++t) {
    Table& tab = reinterpret_cast<Table*>(out)[t];
    for (int i = 0; i < 16; ++i) {
      const auto e = static_cast<std::uint16_t>(entry(i, q[3 * t], q[3 * t + 1], q[3 * t + 2]));
      tab.lo[i] = static_cast<std::uint8_t>(e & 0xFF);
      tab.hi[i] = static_cast<std::uint8_t>(e >> 8);
    }
  }
}

// idx[t] = |v| of triple t of row m, neg[t] = its sign; pair[0..1] = the TL1 remainder indices.
void decode_row(const GemmArgs& a, std::int64_t m, std::uint8_t* idx, std::uint8_t* neg,
                std::uint8_t* pair) {
  const std::uint8_t* tile = a.w + (m / kTileRows) * a.tile_bytes;
  const int r = static_cast<int>(m % kTileRows);
  for (std::int64_t g = 0; g < a.triples / kGroupTriples; ++g) {
    const auto* grp = reinterpret_cast<const Group*>(tile + g * kGroupBytes);
    for (int j = 0; j < kGroupTriples; ++j) {
      idx[g * kGroupTriples + j] = (grp->idx[j / 2][r] >> (4 * (j % 2))) & 0xF;
      neg[g * kGroupTriples + j] = (grp->sign[j] >> r) & 1;
    }
  }
  if (a.has_pair) {
    const std::uint8_t x = tile[a.triples / kGroupTriples * kGroupBytes + r];
    pair[0] = x & 0xF;
    pair[1] = x >> 4;
  }
}

void gemm_scalar(const GemmArgs& a) {
  constexpr int kTokens = 4;  // tokens per pass over a row's indices (independent sums)
  std::vector<std::uint8_t> idx(static_cast<std::size_t>(a.triples)), neg(idx.size());
  std::uint8_t pair[2] = {4, 4};
  for (std::int64_t m = a.m0; m < a.m1; ++m) {
    decode_row(a, m, idx.data(), neg.data(), pair);
    for (std::int64_t n0 = 0; n0 < a.N; n0 += kTokens) {
      const int C = static_cast<int>(a.N - n0 < kTokens ? a.N - n0 : kTokens);
      const Table* lut[kTokens];
      std::int32_t acc[kTokens];
      for (int j = 0; j < C; ++j) {
        lut[j] = reinterpret_cast<const Table*>(a.lut + (n0 + j) * a.ld_lut);
        acc[j] = a.nneg[m];
      }
      for (std::int64_t t0 = 0; t0 < a.triples; t0 += a.block_triples) {
        const std::int64_t t1 = t0 + a.block_triples < a.triples ? t0 + a.block_triples : a.triples;
        std::int16_t block[kTokens] = {};
        for (std::int64_t t = t0; t < t1; ++t) {
          const int i = idx[t], flip = -int{neg[t]};  // ~e = e ^ -1 for negative triples
          for (int j = 0; j < C; ++j)
            block[j] = static_cast<std::int16_t>(
                block[j] + ((lut[j][t].lo[i] | (lut[j][t].hi[i] << 8)) ^ flip));
        }
        for (int j = 0; j < C; ++j) acc[j] += block[j];
      }
      for (int j = 0; j < C; ++j) {
        if (a.has_pair) {
          const Table* pt = lut[j] + a.triples;
          acc[j] += static_cast<std::int16_t>(pt[0].lo[pair[0]] | (pt[0].hi[pair[0]] << 8)) +
                    static_cast<std::int16_t>(pt[1].lo[pair[1]] | (pt[1].hi[pair[1]] << 8));
        }
        a.c[(n0 + j) * a.ldc + m] = acc[j];
      }
    }
  }
}

}  // namespace tritbench::tl2
