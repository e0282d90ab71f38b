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
  constexpr int kTokens = 4;  // tokens per pass over a row's indices (independent sums)
  std::vector<std::uint8_t> idx(static_cast<std::size_t>(a.triples)), neg(idx.size());
  std::uint8_t pair[2] = {4, 4};
  for (std::int64_t m = a.m0; m < a.m1; ++m) {
    decode_row(a, m, idx.data(), neg.data(), pair);
    for (std::int64_t n0 = 0; n0 < a.N; n0 += kTokens) {
      const int C = static_cast<int>(a.N - n0 < kTokens ? a.N - n0 : kTokens);
      const std::uint8_t* lut[kTokens];
      std::int64_t s[kTokens];
      for (int j = 0; j < C; ++j) {
        lut[j] = a.lut + (n0 + j) * a.ld_lut;
        s[j] = a.nneg[m] - 128 * a.triples;
      }
      for (std::int64_t t = 0; t < a.triples; ++t) {
        const int i = idx[t], flip = -int{neg[t]} & 0xFF;  // 255 - u for negative triples
        for (int j = 0; j < C; ++j) s[j] += lut[j][t * kTableBytesQ8 + i] ^ flip;
      }
      for (int j = 0; j < C; ++j) {
        std::int32_t p = 0;
        if (a.has_pair) {
          const auto* pt = reinterpret_cast<const tl1::Table*>(lut[j] + a.triples * kTableBytesQ8);
          p = std::int16_t(pt[0].lo[pair[0]] | (pt[0].hi[pair[0]] << 8)) +
              std::int16_t(pt[1].lo[pair[1]] | (pt[1].hi[pair[1]] << 8));
        }
        const std::int64_t n = n0 + j;
        const double v = static_cast<double>(a.sigma[n]) * static_cast<double>(s[j]) + p;
        a.y[n * a.ldy + m] = static_cast<float>(v / a.act_scale[n] * a.w_scale);
      }
    }
  }
}

}  // namespace tritbench::tl2
