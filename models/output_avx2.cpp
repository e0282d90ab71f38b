// Output-matrix GEMV rows (AVX2 + FMA + F16C). Four rows at a time share each load of h; each row
// keeps two accumulators. Per-row summation order is fixed, so results do not depend on threads.
#include <immintrin.h>

#include <cstdint>

namespace tritbench::models {

namespace {
inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

template <bool F16>
inline __m256 load8(const std::uint8_t* row, std::int64_t i) {
  if constexpr (F16) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 2 * i)));
  } else {
    return _mm256_loadu_ps(reinterpret_cast<const float*>(row) + i);
  }
}

template <bool F16>
void rows(const std::uint8_t* w, std::int64_t cols, const float* h, std::int64_t r0, std::int64_t r1,
          float* out) {
  const std::int64_t rb = cols * (F16 ? 2 : 4);
  const std::int64_t c16 = cols / 16 * 16;
  std::int64_t r = r0;
  for (; r + 4 <= r1; r += 4) {
    const std::uint8_t* p[4] = {w + r * rb, w + (r + 1) * rb, w + (r + 2) * rb, w + (r + 3) * rb};
    __m256 a[4][2];
    for (int j = 0; j < 4; ++j) a[j][0] = a[j][1] = _mm256_setzero_ps();
    for (std::int64_t i = 0; i < c16; i += 16) {
      const __m256 h0 = _mm256_loadu_ps(h + i), h1 = _mm256_loadu_ps(h + i + 8);
      for (int j = 0; j < 4; ++j) {
        a[j][0] = _mm256_fmadd_ps(load8<F16>(p[j], i), h0, a[j][0]);
        a[j][1] = _mm256_fmadd_ps(load8<F16>(p[j], i + 8), h1, a[j][1]);
      }
    }
    for (int j = 0; j < 4; ++j) {
      float s = hsum(_mm256_add_ps(a[j][0], a[j][1]));
      for (std::int64_t i = c16; i < cols; ++i) {
        float v;
        if constexpr (F16) {
          v = _cvtsh_ss(reinterpret_cast<const std::uint16_t*>(p[j])[i]);
        } else {
          v = reinterpret_cast<const float*>(p[j])[i];
        }
        s += v * h[i];
      }
      out[r + j] = s;
    }
  }
  for (; r < r1; ++r) {
    const std::uint8_t* p = w + r * rb;
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    for (std::int64_t i = 0; i < c16; i += 16) {
      a0 = _mm256_fmadd_ps(load8<F16>(p, i), _mm256_loadu_ps(h + i), a0);
      a1 = _mm256_fmadd_ps(load8<F16>(p, i + 8), _mm256_loadu_ps(h + i + 8), a1);
    }
    float s = hsum(_mm256_add_ps(a0, a1));
    for (std::int64_t i = c16; i < cols; ++i) {
      float v;
      if constexpr (F16) {
        v = _cvtsh_ss(reinterpret_cast<const std::uint16_t*>(p)[i]);
      } else {
        v = reinterpret_cast<const float*>(p)[i];
      }
      s += v * h[i];
    }
    out[r] = s;
  }
}
}  // namespace

void out_rows_f16_avx2(const std::uint8_t* w, std::int64_t cols, const float* h, std::int64_t r0,
                       std::int64_t r1, float* out) {
  rows<true>(w, cols, h, r0, r1, out);
}

void out_rows_f32_avx2(const std::uint8_t* w, std::int64_t cols, const float* h, std::int64_t r0,
                       std::int64_t r1, float* out) {
  rows<false>(w, cols, h, r0, r1, out);
}

// Q8_0 rows: per block of 32, sum w*h in int32 with maddubs on |w| (unsigned, up to 128: a file's
// quants may be -128) and h with w's sign (|h| <= 127: the hidden state is clamped), so a maddubs
// pair is at most 2*128*127 < 2^15; then scale by d_w * d_h in float.
void out_rows_q8_0_avx2(const std::uint8_t* w, std::int64_t cols, const std::int8_t* hq, const float* hd,
                        std::int64_t r0, std::int64_t r1, float* out) {
  const std::int64_t nb = cols / 32;
  const __m256i ones = _mm256_set1_epi16(1);
  for (std::int64_t r = r0; r < r1; ++r) {
    const std::uint8_t* p = w + r * nb * 34;
    __m256 acc = _mm256_setzero_ps();
    for (std::int64_t b = 0; b < nb; ++b) {
      const __m256i wq = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 34 * b + 2));
      const __m256i aq = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(hq + 32 * b));
      const __m256i prod = _mm256_maddubs_epi16(_mm256_abs_epi8(wq), _mm256_sign_epi8(aq, wq));
      const __m256i s32 = _mm256_madd_epi16(prod, ones);
      const float d = _cvtsh_ss(*reinterpret_cast<const std::uint16_t*>(p + 34 * b)) * hd[b];
      acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s32), _mm256_set1_ps(d), acc);
    }
    out[r] = hsum(acc);
  }
}

}  // namespace tritbench::models
