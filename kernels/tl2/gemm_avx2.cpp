// TL2, AVX2: a 64-row tile is two 32-row halves. Per half and triple: pshufb on the low and high
// byte tables, the 32 sign bits of the half expanded to a byte mask (broadcast, pshufb, and, cmpeq)
// that complements both bytes of negative rows by xor, unpack into int16 block sums, widened to
// int32 per block (each 128-bit half of a widened sum is 8 consecutive rows, as in TL1).
#include <immintrin.h>

#include "kernels/tl2/format.h"

namespace tritbench::tl2 {

namespace {

inline __m256i bcast(const std::uint8_t* p) {
  return _mm256_broadcastsi128_si256(_mm_load_si128(reinterpret_cast<const __m128i*>(p)));
}

// 0xFF in byte r where bit r of `bits` is set.
inline __m256i expand_bits(std::uint32_t bits) {
  const __m256i rep = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,  //
                                       2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
  const __m256i sel = _mm256_set1_epi64x(0x8040201008040201ll);
  const __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(bits)), rep);
  return _mm256_cmpeq_epi8(_mm256_and_si256(v, sel), sel);
}

inline void lookup(__m256i idx, __m256i neg, __m256i tlo, __m256i thi, __m256i& a, __m256i& b) {
  const __m256i lo = _mm256_xor_si256(_mm256_shuffle_epi8(tlo, idx), neg);
  const __m256i hi = _mm256_xor_si256(_mm256_shuffle_epi8(thi, idx), neg);
  a = _mm256_add_epi16(a, _mm256_unpacklo_epi8(lo, hi));
  b = _mm256_add_epi16(b, _mm256_unpackhi_epi8(lo, hi));
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
  const std::int64_t groups = g.triples / kGroupTriples, block = g.block_triples / kGroupTriples;
  __m256i acc[2][4];
  for (auto& h : acc)
    for (auto& v : h) v = _mm256_setzero_si256();
  for (std::int64_t g0 = 0; g0 < groups; g0 += block) {
    const std::int64_t g1 = g0 + block < groups ? g0 + block : groups;
    __m256i a[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()};
    __m256i b[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()};
    for (std::int64_t gi = g0; gi < g1; ++gi) {
      const std::uint8_t* grp = tile + gi * kGroupBytes;
      if (prefetch)
        for (int l = 0; l < kGroupBytes; l += 64)
          _mm_prefetch(reinterpret_cast<const char*>(grp + kPrefetchBytes + l), _MM_HINT_NTA);
      const auto* sign = reinterpret_cast<const std::uint32_t*>(grp + 4 * kChunkBytes);
      for (int c = 0; c < 4; ++c) {
        const std::uint8_t* t = lut + (gi * kGroupTriples + 2 * c) * kTableBytes;
        const __m256i t0lo = bcast(t), t0hi = bcast(t + 16), t1lo = bcast(t + 32),
                      t1hi = bcast(t + 48);
        for (int h = 0; h < 2; ++h) {
          const __m256i x =
              _mm256_load_si256(reinterpret_cast<const __m256i*>(grp + c * kChunkBytes + 32 * h));
          lookup(_mm256_and_si256(x, nib), expand_bits(sign[2 * (2 * c) + h]), t0lo, t0hi, a[h],
                 b[h]);
          lookup(_mm256_and_si256(_mm256_srli_epi16(x, 4), nib),
                 expand_bits(sign[2 * (2 * c + 1) + h]), t1lo, t1hi, a[h], b[h]);
        }
      }
    }
    widen(a, b, acc);
  }
  if (g.has_pair) {
    const std::uint8_t* t = lut + g.triples * kTableBytes;
    const __m256i zero = _mm256_setzero_si256();
    __m256i a[2] = {zero, zero}, b[2] = {zero, zero};
    for (int h = 0; h < 2; ++h) {
      const __m256i x =
          _mm256_load_si256(reinterpret_cast<const __m256i*>(tile + groups * kGroupBytes + 32 * h));
      lookup(_mm256_and_si256(x, nib), zero, bcast(t), bcast(t + 16), a[h], b[h]);
      lookup(_mm256_and_si256(_mm256_srli_epi16(x, 4), nib), zero, bcast(t + 32), bcast(t + 48),
             a[h], b[h]);
    }
    widen(a, b, acc);
  }
  for (int h = 0; h < 2; ++h)
    for (int i = 0; i < 4; ++i)
      _mm256_store_si256(reinterpret_cast<__m256i*>(out + 32 * h + 8 * i), acc[h][i]);
}

}  // namespace

void build_tables_avx2(const std::int8_t* q, std::int64_t triples, std::uint8_t* out) {
  alignas(32) std::int16_t coef[3][16];
  for (int i = 0; i < 3; ++i)
    for (int e = 0; e < 16; ++e)
      coef[i][e] = static_cast<std::int16_t>(entry(e, i == 0, i == 1, i == 2));
  const __m256i c0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(coef[0]));
  const __m256i c1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(coef[1]));
  const __m256i c2 = _mm256_load_si256(reinterpret_cast<const __m256i*>(coef[2]));
  const __m256i split = _mm256_broadcastsi128_si256(
      _mm_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15));
  for (std::int64_t t = 0; t < triples; ++t) {
    // sign_epi16(b, c) = b * c for c in {-1, 0, 1}.
    __m256i e = _mm256_sign_epi16(_mm256_set1_epi16(q[3 * t]), c0);
    e = _mm256_add_epi16(e, _mm256_sign_epi16(_mm256_set1_epi16(q[3 * t + 1]), c1));
    e = _mm256_add_epi16(e, _mm256_sign_epi16(_mm256_set1_epi16(q[3 * t + 2]), c2));
    e = _mm256_permute4x64_epi64(_mm256_shuffle_epi8(e, split), 0xD8);  // qwords 0, 2, 1, 3
    _mm256_store_si256(reinterpret_cast<__m256i*>(out + t * kTableBytes), e);
  }
}

void gemm_avx2(const GemmArgs& g) {
  alignas(32) std::int32_t out[64];
  for (std::int64_t m = g.m0; m < g.m1; m += kTileRows) {
    const std::uint8_t* tile = g.w + (m / kTileRows) * g.tile_bytes;
    const std::int64_t rows = g.m1 - m < kTileRows ? g.m1 - m : kTileRows;
    for (std::int64_t n = 0; n < g.N; ++n) {
      tile_token(g, tile, g.lut + n * g.ld_lut, g.N == 1, out);
      for (std::int64_t r = 0; r < rows; ++r) g.c[n * g.ldc + m + r] = out[r] + g.nneg[m + r];
    }
  }
}

}  // namespace tritbench::tl2
