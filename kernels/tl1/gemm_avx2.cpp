// TL1, AVX2: a 64-row tile is two 32-row halves; per half and pair one pshufb on the low-byte and
// one on the high-byte table (broadcast to both 128-bit lanes), unpacklo/hi into int16, summed per
// block and widened to int32 after it. Within a half, unpacklo holds rows 0-7 and 16-23 and
// unpackhi rows 8-15 and 24-31, so each widened 128-bit half is 8 consecutive rows.
#include <immintrin.h>

#include "kernels/tl1/format.h"

namespace tritbench::tl1 {

namespace {

inline void lookup(__m256i idx, __m256i tlo, __m256i thi, __m256i& a, __m256i& b) {
  const __m256i lo = _mm256_shuffle_epi8(tlo, idx), hi = _mm256_shuffle_epi8(thi, idx);
  a = _mm256_add_epi16(a, _mm256_unpacklo_epi8(lo, hi));
  b = _mm256_add_epi16(b, _mm256_unpackhi_epi8(lo, hi));
}

inline __m256i bcast(const std::uint8_t* p) {
  return _mm256_broadcastsi128_si256(_mm_load_si128(reinterpret_cast<const __m128i*>(p)));
}

// acc[h][i]: rows 32h + 8i .. 32h + 8i + 7.
inline void widen(const __m256i a[2], const __m256i b[2], __m256i acc[2][4]) {
  for (int h = 0; h < 2; ++h) {
    acc[h][0] = _mm256_add_epi32(acc[h][0], _mm256_cvtepi16_epi32(_mm256_castsi256_si128(a[h])));
    acc[h][1] = _mm256_add_epi32(acc[h][1], _mm256_cvtepi16_epi32(_mm256_castsi256_si128(b[h])));
    acc[h][2] =
        _mm256_add_epi32(acc[h][2], _mm256_cvtepi16_epi32(_mm256_extracti128_si256(a[h], 1)));
    acc[h][3] =
        _mm256_add_epi32(acc[h][3], _mm256_cvtepi16_epi32(_mm256_extracti128_si256(b[h], 1)));
  }
}

void tile_token(const GemmArgs& g, const std::uint8_t* tile, const std::uint8_t* lut, bool prefetch,
                std::int32_t* out) {
  const __m256i nib = _mm256_set1_epi8(0x0F);
  __m256i acc[2][4];
  for (auto& h : acc)
    for (auto& v : h) v = _mm256_setzero_si256();
  for (std::int64_t p0 = 0; p0 < g.pairs; p0 += g.block_pairs) {
    const std::int64_t p1 = p0 + g.block_pairs < g.pairs ? p0 + g.block_pairs : g.pairs;
    __m256i a[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()};
    __m256i b[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()};
    for (std::int64_t p = p0; p < p1; p += 2) {
      const std::uint8_t* t = lut + p * kTableBytes;
      if (prefetch)
        _mm_prefetch(reinterpret_cast<const char*>(tile + (p / 2) * kChunkBytes + kPrefetchBytes),
                     _MM_HINT_NTA);
      const __m256i t0lo = bcast(t), t0hi = bcast(t + 16), t1lo = bcast(t + 32),
                    t1hi = bcast(t + 48);
      for (int h = 0; h < 2; ++h) {
        const __m256i x = _mm256_load_si256(
            reinterpret_cast<const __m256i*>(tile + (p / 2) * kChunkBytes + 32 * h));
        lookup(_mm256_and_si256(x, nib), t0lo, t0hi, a[h], b[h]);
        lookup(_mm256_and_si256(_mm256_srli_epi16(x, 4), nib), t1lo, t1hi, a[h], b[h]);
      }
    }
    widen(a, b, acc);
  }
  for (int h = 0; h < 2; ++h)
    for (int i = 0; i < 4; ++i)
      _mm256_store_si256(reinterpret_cast<__m256i*>(out + 32 * h + 8 * i), acc[h][i]);
}

}  // namespace

void build_tables_avx2(const std::int8_t* q, std::int64_t pairs, std::uint8_t* out) {
  alignas(32) std::int16_t c0[16], c1[16];
  for (int i = 0; i < 16; ++i) {
    c0[i] = static_cast<std::int16_t>(entry(static_cast<unsigned>(i), 1, 0));
    c1[i] = static_cast<std::int16_t>(entry(static_cast<unsigned>(i), 0, 1));
  }
  const __m256i w0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(c0));
  const __m256i w1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(c1));
  const __m256i split = _mm256_broadcastsi128_si256(
      _mm_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15));
  for (std::int64_t p = 0; p < pairs; ++p) {
    // sign_epi16(b, c) = b * c for c in {-1, 0, 1}.
    __m256i t = _mm256_add_epi16(_mm256_sign_epi16(_mm256_set1_epi16(q[2 * p]), w0),
                                 _mm256_sign_epi16(_mm256_set1_epi16(q[2 * p + 1]), w1));
    t = _mm256_permute4x64_epi64(_mm256_shuffle_epi8(t, split), 0xD8);  // qwords 0, 2, 1, 3
    _mm256_store_si256(reinterpret_cast<__m256i*>(out + p * kTableBytes), t);
  }
}

void gemm_avx2(const GemmArgs& g) {
  alignas(32) std::int32_t out[64];
  for (std::int64_t m = g.m0; m < g.m1; m += kTileRows) {
    const std::uint8_t* tile = g.w + (m / kTileRows) * g.tile_bytes;
    const std::int64_t rows = g.m1 - m < kTileRows ? g.m1 - m : kTileRows;
    for (std::int64_t n = 0; n < g.N; ++n) {
      tile_token(g, tile, g.lut + n * g.ld_lut, g.N == 1, out);
      for (std::int64_t r = 0; r < rows; ++r) g.c[n * g.ldc + m + r] = out[r];
    }
  }
}

}  // namespace tritbench::tl1
