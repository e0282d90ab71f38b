// Attention on AVX-512F for the head dimensions of avx512_attention_dim (models/ops.h): decode
// steps, prompts, and the causal softmax of the general path's score rows
// (attention_softmax_rows_avx512, used for other head dimensions: in a 2B-4T pp512 it made the
// whole prompt 1.07-1.11x faster at 2 threads than the scalar loop with expf).
//
// One routine (attention_rows_avx512) runs up to four query rows against one kv head at once, so
// each K and V row is read once for all of them: in a decode step the query heads that share the
// kv head (models/ops.cpp gives each thread whole kv groups when it can), in a prompt four
// consecutive tokens of one head, each seeing its own causal prefix of the keys.
//  - scores: 16 accumulators (16 / H keys x H rows), each over the head dimension in order, the
//    16 sums brought into one vector by a fixed tree of in-lane adds and shuffles (sum_lanes_16);
//  - softmax of each row's scores with a vector exp (exp_nonpositive), max and sum over lanes in
//    a fixed order;
//  - out = sum_j p_j v_j in key order, the output dimensions in passes of at most 16 accumulators;
//    a row's keys past its own prefix (in a prompt's bundle) have p_j = 0, which adds nothing
//    (V is finite).
// A row's arithmetic is the same whichever rows run with it and on whichever thread, so results
// do not depend on the thread count, and a prompt's token gets the same bits as its decode step;
// they differ from the general path (attention_avx2.cpp: Eigen products) in float rounding only
// (tests/test_e2e.cpp, Attention.*).
//
// Measured, decode (2B-4T shapes: 20 heads, 5 kv heads, d = 128, context 256, one query; the old
// path is TRITBENCH_ISA=avx2), per layer: K and V in cache (the same layer again) 91 -> 26 us at 1
// thread, 56 -> 15 and 47 -> 13 us at 2 threads; from DRAM (200 layers' caches in turn) 118 -> 98
// us at 1 thread, 94 -> 62 and 146 -> 49 us at 2. In a 2B-4T prompt at -b 1 (512 tokens, 2
// threads, timers around attention(), old and new binaries alternating three times) attention
// took 3.69 / 4.34 / 3.96 -> 1.56 / 1.75 / 1.73 ms per token, the whole token 14.9 / 15.7 / 15.7
// -> 11.6 / 13.1 / 11.9 ms.
// Measured, prompt (2B-4T, 512 tokens from an empty cache, one layer's 20 heads on one thread,
// against the Eigen products with the AVX-512 softmax, alternating in one process, 5 rounds):
// 18.5-20.6 -> 11.6-11.9 ms, 1.59-1.78x. Whole pp512 (2B-4T, i2r_4s, old and new binaries
// alternating): 2 threads 1.01-1.16x, median 1.09x (5 pairs); 1 thread 1.03-1.10x (3 pairs).
#include <immintrin.h>

#include <cstdint>

namespace tritbench::models {

namespace {

// e^x for x <= 0 (softmax after subtracting the maximum), within 2 ulp of std::exp where the result
// is a normal float: x = n ln2 + r with |r| <= ln2/2, e^r by its Taylor series to r^7 (the first
// term left out is below 6e-9 of the result), times 2^n by vscalefps. Below -87.3 the result is 0
// or denormal in float; x is clamped to -104, where it is 0.
inline __m512 exp_nonpositive(__m512 x) {
  x = _mm512_max_ps(x, _mm512_set1_ps(-104.0f));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  // ln 2 in two parts: the first exact in float with its low 12 bits zero, so n * hi is exact.
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.0f / 5040);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(p, n);
}

// e_j = e^(s_j - max_j s_j) in place over s[0, len), len >= 1; returns 1 / sum_j e_j. The max
// and the sum go over lanes (16 partial sums, reduced in a fixed order).
inline float exp_shifted(float* s, std::int64_t len) {
  const std::int64_t full = len / 16;
  const __mmask16 tail = static_cast<__mmask16>((1u << (len % 16)) - 1);
  __m512 mx = _mm512_set1_ps(-__builtin_inff());
  for (std::int64_t b = 0; b < full; ++b) mx = _mm512_max_ps(mx, _mm512_loadu_ps(s + 16 * b));
  if (tail) mx = _mm512_mask_max_ps(mx, tail, mx, _mm512_maskz_loadu_ps(tail, s + 16 * full));
  const __m512 m = _mm512_set1_ps(_mm512_reduce_max_ps(mx));
  __m512 sum = _mm512_setzero_ps();
  for (std::int64_t b = 0; b < full; ++b) {
    const __m512 e = exp_nonpositive(_mm512_sub_ps(_mm512_loadu_ps(s + 16 * b), m));
    _mm512_storeu_ps(s + 16 * b, e);
    sum = _mm512_add_ps(sum, e);
  }
  if (tail) {
    const __m512 e = _mm512_maskz_mov_ps(
        tail, exp_nonpositive(_mm512_sub_ps(_mm512_maskz_loadu_ps(tail, s + 16 * full), m)));
    _mm512_mask_storeu_ps(s + 16 * full, tail, e);
    sum = _mm512_add_ps(sum, e);
  }
  return 1.0f / _mm512_reduce_add_ps(sum);
}

// s[0, len) *= c.
inline void scale_row(float* s, std::int64_t len, float c) {
  const __m512 m = _mm512_set1_ps(c);
  std::int64_t j = 0;
  for (; j + 16 <= len; j += 16) _mm512_storeu_ps(s + j, _mm512_mul_ps(_mm512_loadu_ps(s + j), m));
  const __mmask16 tail = static_cast<__mmask16>((1u << (len - j)) - 1);
  _mm512_mask_storeu_ps(s + j, tail, _mm512_mul_ps(_mm512_maskz_loadu_ps(tail, s + j), m));
}

// Lane i of the result = the sum of the 16 lanes of a[i].
inline __m512 sum_lanes_16(const __m512 (&a)[16]) {
  __m512 b[8], c[4];
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i)  // per 128-bit block: [x0+x2, y0+y2, x1+x3, y1+y3] of a[2i], a[2i+1]
    b[i] = _mm512_add_ps(_mm512_unpacklo_ps(a[2 * i], a[2 * i + 1]),
                         _mm512_unpackhi_ps(a[2 * i], a[2 * i + 1]));
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) {  // per block: the block's sums of a[4i..4i+3], in that order
    const __m512d lo =
        _mm512_unpacklo_pd(_mm512_castps_pd(b[2 * i]), _mm512_castps_pd(b[2 * i + 1]));
    const __m512d hi =
        _mm512_unpackhi_pd(_mm512_castps_pd(b[2 * i]), _mm512_castps_pd(b[2 * i + 1]));
    c[i] = _mm512_add_ps(_mm512_castpd_ps(lo), _mm512_castpd_ps(hi));
  }
  // c[i] has blocks B0..B3 of sums for keys 4i..4i+3; add the blocks pairwise, then again.
  const __m512 e0 =
      _mm512_add_ps(_mm512_shuffle_f32x4(c[0], c[1], 0x88), _mm512_shuffle_f32x4(c[0], c[1], 0xDD));
  const __m512 e1 =
      _mm512_add_ps(_mm512_shuffle_f32x4(c[2], c[3], 0x88), _mm512_shuffle_f32x4(c[2], c[3], 0xDD));
  return _mm512_add_ps(_mm512_shuffle_f32x4(e0, e1, 0x88), _mm512_shuffle_f32x4(e0, e1, 0xDD));
}

// The largest divisor of C with H * divisor <= 16: output chunks per pass over V, so that the
// accumulators of H heads fit in 16 registers.
constexpr int chunks_per_pass(int C, int H) {
  int best = 1;
  for (int p = 1; p <= C; ++p)
    if (C % p == 0 && H * p <= 16) best = p;
  return best;
}

// H query rows (1, 2 or 4) against one kv head: q + i * ldq, out + i * ldo and scores s + i * ls
// for row i; ls >= len rounded up to 16. Row i sees the first len - causal * (H - 1 - i) keys:
// causal = 0 for query heads of one token (a decode step), 1 for consecutive tokens of one head (a
// prompt). Each K and V row is read once for all H rows. C = d / 16.
template <int C, int H>
void heads(const float* q, std::int64_t ldq, const float* k, const float* v, std::int64_t len,
           std::int64_t causal, std::int64_t ldkv, float* out, std::int64_t ldo, float* s,
           std::int64_t ls) {
  constexpr int KB = 16 / H;  // keys per block: KB keys x H heads = 16 accumulators
  const float scale = 1.0f / __builtin_sqrtf(static_cast<float>(16 * C));
  // Scores. Accumulator h * KB + i is head h, key j0 + i; keys past the end read the last key
  // again, and their scores (written up to the block's end) are masked below.
  for (std::int64_t j0 = 0; j0 < len; j0 += KB) {
    __m512 acc[16];
    const float* row[KB];
#pragma GCC unroll 16
    for (int i = 0; i < 16; ++i) acc[i] = _mm512_setzero_ps();
#pragma GCC unroll 16
    for (int i = 0; i < KB; ++i) row[i] = k + (j0 + i < len ? j0 + i : len - 1) * ldkv;
#pragma GCC unroll 16
    for (int c = 0; c < C; ++c) {
      __m512 kc[KB];
#pragma GCC unroll 16
      for (int i = 0; i < KB; ++i) kc[i] = _mm512_loadu_ps(row[i] + 16 * c);
#pragma GCC unroll 4
      for (int h = 0; h < H; ++h) {
        const __m512 qc = _mm512_loadu_ps(q + h * ldq + 16 * c);
#pragma GCC unroll 16
        for (int i = 0; i < KB; ++i) acc[h * KB + i] = _mm512_fmadd_ps(kc[i], qc, acc[h * KB + i]);
      }
    }
    const __m512 sums = _mm512_mul_ps(sum_lanes_16(acc), _mm512_set1_ps(scale));
    if constexpr (H == 1) {
      _mm512_storeu_ps(s + j0, sums);
    } else if constexpr (H == 2) {
      _mm256_storeu_ps(s + j0, _mm512_castps512_ps256(sums));
      _mm256_storeu_ps(s + ls + j0, _mm512_extractf32x8_ps(sums, 1));
    } else {
      _mm_storeu_ps(s + j0, _mm512_castps512_ps128(sums));
      _mm_storeu_ps(s + ls + j0, _mm512_extractf32x4_ps(sums, 1));
      _mm_storeu_ps(s + 2 * ls + j0, _mm512_extractf32x4_ps(sums, 2));
      _mm_storeu_ps(s + 3 * ls + j0, _mm512_extractf32x4_ps(sums, 3));
    }
  }
  // Softmax of each row's scores: p_j = e_j * inv, in place. The V pass runs over all len keys:
  // the keys past a row's own length get p = 0.
  for (int h = 0; h < H; ++h) {
    const std::int64_t own = len - causal * (H - 1 - h);
    scale_row(s + h * ls, own, exp_shifted(s + h * ls, own));
    for (std::int64_t j = own; j < len; ++j) s[h * ls + j] = 0;
  }
  // out = sum_j p_j v_j, CP chunks of every head per pass over the keys.
  constexpr int CP = chunks_per_pass(C, H);
  for (int c0 = 0; c0 < C; c0 += CP) {
    __m512 o[H][CP];
#pragma GCC unroll 4
    for (int h = 0; h < H; ++h)
#pragma GCC unroll 16
      for (int c = 0; c < CP; ++c) o[h][c] = _mm512_setzero_ps();
    for (std::int64_t j = 0; j < len; ++j) {
      const float* vj = v + j * ldkv + 16 * c0;
#pragma GCC unroll 4
      for (int h = 0; h < H; ++h) {
        const __m512 p = _mm512_set1_ps(s[h * ls + j]);
#pragma GCC unroll 16
        for (int c = 0; c < CP; ++c)
          o[h][c] = _mm512_fmadd_ps(p, _mm512_loadu_ps(vj + 16 * c), o[h][c]);
      }
    }
#pragma GCC unroll 4
    for (int h = 0; h < H; ++h)
#pragma GCC unroll 16
      for (int c = 0; c < CP; ++c) _mm512_storeu_ps(out + h * ldo + 16 * (c0 + c), o[h][c]);
  }
}

template <int C>
void heads_of(int H, const float* q, std::int64_t ldq, const float* k, const float* v,
              std::int64_t len, std::int64_t causal, std::int64_t ldkv, float* out,
              std::int64_t ldo, float* s, std::int64_t ls) {
  if (H == 4) return heads<C, 4>(q, ldq, k, v, len, causal, ldkv, out, ldo, s, ls);
  if (H == 2) return heads<C, 2>(q, ldq, k, v, len, causal, ldkv, out, ldo, s, ls);
  heads<C, 1>(q, ldq, k, v, len, causal, ldkv, out, ldo, s, ls);
}

}  // namespace

void attention_rows_avx512(std::int64_t rows, const float* q, std::int64_t ldq, const float* k,
                           const float* v, std::int64_t len, std::int64_t causal, std::int64_t ldkv,
                           std::int64_t d, float* out, std::int64_t ldo, float* scores) {
  const std::int64_t ls = (len + 15) / 16 * 16;
  // Bundles of 4, 2 and 1 rows: each row's arithmetic is the same in any of them (a bundle runs
  // over the keys of its last row; the others' extra keys get p = 0, which leaves their sums as
  // they were, V being finite).
  for (std::int64_t done = 0; done < rows;) {
    const int H = rows - done >= 4 ? 4 : rows - done >= 2 ? 2 : 1;
    const std::int64_t lb = len - causal * (rows - done - H);
    const float* qb = q + done * ldq;
    float* ob = out + done * ldo;
    switch (d) {  // one of avx512_attention_dim's (models/ops.h)
      case 64:
        heads_of<4>(H, qb, ldq, k, v, lb, causal, ldkv, ob, ldo, scores, ls);
        break;
      case 96:
        heads_of<6>(H, qb, ldq, k, v, lb, causal, ldkv, ob, ldo, scores, ls);
        break;
      case 128:
        heads_of<8>(H, qb, ldq, k, v, lb, causal, ldkv, ob, ldo, scores, ls);
        break;
      default:
        heads_of<16>(H, qb, ldq, k, v, lb, causal, ldkv, ob, ldo, scores, ls);
        break;
    }
    done += H;
  }
}

void attention_softmax_rows_avx512(float* s, std::int64_t ld, std::int64_t rows, std::int64_t len0,
                                   std::int64_t keys, float scale) {
  for (std::int64_t t = 0; t < rows; ++t) {
    float* r = s + t * ld;
    const std::int64_t len = len0 + t;
    scale_row(r, len, scale);
    scale_row(r, len, exp_shifted(r, len));
    for (std::int64_t j = len; j < keys; ++j) r[j] = 0;  // causal mask
  }
}

void attention_exp_avx512(const float* x, std::int64_t n, float* y) {
  std::int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, exp_nonpositive(_mm512_loadu_ps(x + i)));
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(y + i, m, exp_nonpositive(_mm512_maskz_loadu_ps(m, x + i)));
  }
}

}  // namespace tritbench::models
