// TL2_0 (approximate), portable: biased int8 triple tables with one scale per activation row
// (format.h). Per row: S = sum over triples of the biased entry (complemented for negative
// triples) - 128 * Tp + (negative triples) = sum of sign * e'; the remainder pair stays exact.
#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "kernels/tl1/format.h"
#include "kernels/tl2/format.h"

namespace tritbench::tl2 {

float quantize_tables_scalar(const std::uint8_t* t16, std::int64_t triples, std::uint8_t* out) {
  const auto* tab = reinterpret_cast<const Table*>(t16);
  auto e = [&](std::int64_t t, int i) {
    return int(std::int16_t(tab[t].lo[i] | (tab[t].hi[i] << 8)));
  };
  int mx = 0;
  for (std::int64_t t = 0; t < triples; ++t)
    for (int i = 0; i < 16; ++i) mx = std::max(mx, std::abs(e(t, i)));
  const float sigma = mx > 0 ? static_cast<float>(mx) / 127.0f : 1.0f;
  for (std::int64_t t = 0; t < triples; ++t)
    for (int i = 0; i < 16; ++i) {
      const float v = std::nearbyint(static_cast<float>(e(t, i)) / sigma);  // |v| <= 127
      out[t * kTableBytesQ8 + i] = static_cast<std::uint8_t>(static_cast<int>(v) + 128);
    }
  return sigma;
}

void gemm_q8_scalar(const GemmArgs& a) {
  for (std::int64_t n = 0; n < a.N; ++n) {
    const std::uint8_t* lut = a.lut + n * a.ld_lut;
    for (std::int64_t m = a.m0; m < a.m1; ++m) {
      const std::uint8_t* tile = a.w + (m / kTileRows) * a.tile_bytes;
      const int r = static_cast<int>(m % kTileRows);
      std::int64_t s = a.nneg[m] - 128 * a.triples;
      for (std::int64_t t = 0; t < a.triples; ++t) {
        const auto* grp = reinterpret_cast<const Group*>(tile + (t / kGroupTriples) * kGroupBytes);
        const int j = static_cast<int>(t % kGroupTriples);
        const int i = (grp->idx[j / 2][r] >> (4 * (j % 2))) & 0xF;
        const int u = lut[t * kTableBytesQ8 + i];
        s += (grp->sign[j] >> r) & 1 ? 255 - u : u;
      }
      std::int32_t pair = 0;
      if (a.has_pair) {
        const std::uint8_t x = tile[a.triples / kGroupTriples * kGroupBytes + r];
        const auto* pt = reinterpret_cast<const tl1::Table*>(lut + a.triples * kTableBytesQ8);
        const unsigned i0 = x & 0xF, i1 = x >> 4;
        pair = std::int16_t(pt[0].lo[i0] | (pt[0].hi[i0] << 8)) +
               std::int16_t(pt[1].lo[i1] | (pt[1].hi[i1] << 8));
      }
      const double v = static_cast<double>(a.sigma[n]) * static_cast<double>(s) + pair;
      a.y[n * a.ldy + m] = static_cast<float>(v / a.act_scale[n] * a.w_scale);
    }
  }
}

}  // namespace tritbench::tl2
