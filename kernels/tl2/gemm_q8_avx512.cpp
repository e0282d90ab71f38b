// TL2_0 (approximate), AVX-512 (BW): one vpshufb per triple on its 16-byte biased int8 table,
// complemented for negative rows (255 - u = ~u, a masked op), zero-extended into uint16 block sums
// (at most 80 * 255 = 20400), widened to int32 after each block. The remainder pair is exact
// (TL1 int16 tables); floats come from S = sum u - 128 * Tp + negatives, y = (sigma * S + pair)
// / s * w_scale.
#include <immintrin.h>

#include <cmath>

#include "kernels/tl2/format.h"

namespace tritbench::tl2 {

namespace {

inline __m512i bcast(const std::uint8_t* p) {
  return _mm512_broadcast_i32x4(_mm_load_si128(reinterpret_cast<const __m128i*>(p)));
}

inline void widen(__m512i a, __m512i b, __m512i acc[4]) {
  const __m512i lo = _mm512_permutex2var_epi64(a, _mm512_setr_epi64(0, 1, 8, 9, 2, 3, 10, 11), b);
  const __m512i hi = _mm512_permutex2var_epi64(a, _mm512_setr_epi64(4, 5, 12, 13, 6, 7, 14, 15), b);
  acc[0] = _mm512_add_epi32(acc[0], _mm512_cvtepi16_epi32(_mm512_castsi512_si256(lo)));
  acc[1] = _mm512_add_epi32(acc[1], _mm512_cvtepi16_epi32(_mm512_extracti64x4_epi64(lo, 1)));
  acc[2] = _mm512_add_epi32(acc[2], _mm512_cvtepi16_epi32(_mm512_castsi512_si256(hi)));
  acc[3] = _mm512_add_epi32(acc[3], _mm512_cvtepi16_epi32(_mm512_extracti64x4_epi64(hi, 1)));
}

// out[r] = S of row r, pair[r] = exact remainder-pair sum of row r (64 rows, one token).
void tile_token(const GemmArgs& g, const std::uint8_t* tile, const std::uint8_t* lut, bool prefetch,
                std::int32_t* out, std::int32_t* pair) {
  const __m512i nib = _mm512_set1_epi8(0x0F), ones = _mm512_set1_epi8(-1);
  const __m512i zero = _mm512_setzero_si512();
  const std::int64_t groups = g.triples / kGroupTriples, block = g.block_triples / kGroupTriples;
  __m512i acc[4] = {zero, zero, zero, zero};
  for (std::int64_t g0 = 0; g0 < groups; g0 += block) {
    const std::int64_t g1 = g0 + block < groups ? g0 + block : groups;
    __m512i a = zero, b = zero;
    for (std::int64_t gi = g0; gi < g1; ++gi) {
      const std::uint8_t* grp = tile + gi * kGroupBytes;
      const std::uint8_t* tab = lut + gi * kGroupTriples * kTableBytesQ8;
      if (prefetch)
        for (int l = 0; l < kGroupBytes; l += 64)
          _mm_prefetch(reinterpret_cast<const char*>(grp + kPrefetchBytes + l), _MM_HINT_NTA);
      for (int c = 0; c < 4; ++c) {
        const __m512i x = _mm512_load_si512(grp + c * kChunkBytes);
        for (int s = 0; s < 2; ++s) {
          const __m512i idx = _mm512_and_si512(s ? _mm512_srli_epi16(x, 4) : x, nib);
          const __mmask64 neg = _cvtu64_mask64(
              *reinterpret_cast<const std::uint64_t*>(grp + 4 * kChunkBytes + 8 * (2 * c + s)));
          __m512i u = _mm512_shuffle_epi8(bcast(tab + (2 * c + s) * kTableBytesQ8), idx);
          u = _mm512_mask_sub_epi8(u, neg, ones, u);
          a = _mm512_add_epi16(a, _mm512_unpacklo_epi8(u, zero));
          b = _mm512_add_epi16(b, _mm512_unpackhi_epi8(u, zero));
        }
      }
    }
    widen(a, b, acc);
  }
  for (int i = 0; i < 4; ++i) _mm512_store_si512(out + 16 * i, acc[i]);
  __m512i p[4] = {zero, zero, zero, zero};
  if (g.has_pair) {
    const __m512i x = _mm512_load_si512(tile + groups * kGroupBytes);
    const std::uint8_t* tab = lut + g.triples * kTableBytesQ8;
    __m512i a = zero, b = zero;
    for (int s = 0; s < 2; ++s) {
      const __m512i idx = _mm512_and_si512(s ? _mm512_srli_epi16(x, 4) : x, nib);
      const __m512i lo = _mm512_shuffle_epi8(bcast(tab + s * kTableBytes), idx);
      const __m512i hi = _mm512_shuffle_epi8(bcast(tab + s * kTableBytes + 16), idx);
      a = _mm512_add_epi16(a, _mm512_unpacklo_epi8(lo, hi));
      b = _mm512_add_epi16(b, _mm512_unpackhi_epi8(lo, hi));
    }
    widen(a, b, p);
  }
  for (int i = 0; i < 4; ++i) _mm512_store_si512(pair + 16 * i, p[i]);
}

}  // namespace

float quantize_tables_avx512(const std::uint8_t* t16, std::int64_t triples, std::uint8_t* out) {
  auto entries = [&](std::int64_t t) {  // the 16 int16 entries of triple t
    const __m128i lo = _mm_load_si128(reinterpret_cast<const __m128i*>(t16 + t * kTableBytes));
    const __m128i hi = _mm_load_si128(reinterpret_cast<const __m128i*>(t16 + t * kTableBytes + 16));
    return _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_unpacklo_epi8(lo, hi)),
                                   _mm_unpackhi_epi8(lo, hi), 1);
  };
  __m256i mx = _mm256_setzero_si256();
  for (std::int64_t t = 0; t < triples; ++t)
    mx = _mm256_max_epi16(mx, _mm256_abs_epi16(entries(t)));
  const int m = _mm512_reduce_max_epi32(_mm512_cvtepi16_epi32(mx));
  const float sigma = m > 0 ? static_cast<float>(m) / 127.0f : 1.0f;
  const __m512 vs = _mm512_set1_ps(sigma);
  const __m512i bias = _mm512_set1_epi32(128);
  for (std::int64_t t = 0; t < triples; ++t) {
    // Same float division and round-to-nearest-even as the scalar twin.
    const __m512 e = _mm512_cvtepi32_ps(_mm512_cvtepi16_epi32(entries(t)));
    const __m512i v = _mm512_add_epi32(_mm512_cvtps_epi32(_mm512_div_ps(e, vs)), bias);
    _mm_store_si128(reinterpret_cast<__m128i*>(out + t * kTableBytesQ8), _mm512_cvtepi32_epi8(v));
  }
  return sigma;
}

void gemm_q8_avx512(const GemmArgs& g) {
  alignas(64) std::int32_t s[64], pair[64];
  for (std::int64_t m = g.m0; m < g.m1; m += kTileRows) {
    const std::uint8_t* tile = g.w + (m / kTileRows) * g.tile_bytes;
    const std::int64_t rows = g.m1 - m < kTileRows ? g.m1 - m : kTileRows;
    for (std::int64_t n = 0; n < g.N; ++n) {
      tile_token(g, tile, g.lut + n * g.ld_lut, g.N == 1, s, pair);
      const double sigma = g.sigma[n];
      for (std::int64_t r = 0; r < rows; ++r) {
        const std::int64_t S = std::int64_t{s[r]} - 128 * g.triples + g.nneg[m + r];
        const double v = sigma * static_cast<double>(S) + pair[r];
        g.y[n * g.ldy + m + r] = static_cast<float>(v / g.act_scale[n] * g.w_scale);
      }
    }
  }
}

}  // namespace tritbench::tl2
