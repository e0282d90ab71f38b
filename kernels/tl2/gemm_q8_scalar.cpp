// TL2_0 (approximate), portable: biased int8 triple tables with one scale per activation row
// (format.h). Per row: S = sum over triples of the biased entry (complemented for negative
// triples) - 128 * Tp + (negative triples) = sum of sign * e'; the remainder pair stays exact.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <vector>

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
  std::vector<std::uint8_t> idx(static_cast<std::size_t>(a.triples)), neg(idx.size());
  std::uint8_t pair[2] = {4, 4};
  for (std::int64_t m = a.m0; m < a.m1; ++m) {
    decode_row(a, m, idx.data(), neg.data(), pair);
    for (std::int64_t n = 0; n < a.N; ++n) {
      const std::uint8_t* lut = a.lut + n * a.ld_lut;
      std::int64_t s = a.nneg[m] - 128 * a.triples;
      for (std::int64_t t = 0; t < a.triples; ++t) {
        const int u = lut[t * kTableBytesQ8 + idx[t]];
        s += neg[t] ? 255 - u : u;
      }
      std::int32_t p = 0;
      if (a.has_pair) {
        const auto* pt = reinterpret_cast<const tl1::Table*>(lut + a.triples * kTableBytesQ8);
        p = std::int16_t(pt[0].lo[pair[0]] | (pt[0].hi[pair[0]] << 8)) +
            std::int16_t(pt[1].lo[pair[1]] | (pt[1].hi[pair[1]] << 8));
      }
      const double v = static_cast<double>(a.sigma[n]) * static_cast<double>(s) + p;
      a.y[n * a.ldy + m] = static_cast<float>(v / a.act_scale[n] * a.w_scale);
    }
  }
}

}  // namespace tritbench::tl2
