// Roofline measurement kernels, AVX-512 (F + BW): streaming reads, copy, triad, and the
// vpmaddubsw/vpmaddwd int8 chain of AVX-512 rows without VNNI.
#include <immintrin.h>

#include "harness/lib/roofline_kernels.h"

namespace tritbench::roofline {

namespace {
// Lane sum as unsigned 64-bit: the measurement loops wrap their lanes, and GCC's
// _mm512_reduce_add_* sums them in signed scalar arithmetic (undefined on overflow).
inline std::uint64_t lane_sum(__m512i v) {
  alignas(64) std::uint64_t w[8];
  _mm512_store_si512(w, v);
  return w[0] + w[1] + w[2] + w[3] + w[4] + w[5] + w[6] + w[7];
}
}  // namespace

// S sequential streams, the S equal parts of [p, p + bytes), 8 / S lines of each per iteration into
// 8 accumulators (S = 1: eight consecutive lines). Named accumulators: with an array GCC 12 copies
// all eight every iteration.
template <int S>
std::uint64_t read_streams(const void* p, std::uint64_t bytes) {
  const auto* v = static_cast<const __m512i*>(p);
  const std::uint64_t lines = bytes / 64 / S;  // per stream
  auto at = [&](std::uint64_t i, int j) { return _mm512_load_si512(v + (j % S) * lines + i + j / S); };
  __m512i s0 = _mm512_setzero_si512(), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
  for (std::uint64_t i = 0; i < lines; i += 8 / S) {
    s0 = _mm512_add_epi64(s0, at(i, 0));
    s1 = _mm512_add_epi64(s1, at(i, 1));
    s2 = _mm512_add_epi64(s2, at(i, 2));
    s3 = _mm512_add_epi64(s3, at(i, 3));
    s4 = _mm512_add_epi64(s4, at(i, 4));
    s5 = _mm512_add_epi64(s5, at(i, 5));
    s6 = _mm512_add_epi64(s6, at(i, 6));
    s7 = _mm512_add_epi64(s7, at(i, 7));
  }
  s0 = _mm512_add_epi64(_mm512_add_epi64(_mm512_add_epi64(s0, s1), _mm512_add_epi64(s2, s3)),
                        _mm512_add_epi64(_mm512_add_epi64(s4, s5), _mm512_add_epi64(s6, s7)));
  return lane_sum(s0);
}

std::uint64_t read_avx512(const void* p, std::uint64_t bytes) { return read_streams<1>(p, bytes); }
std::uint64_t read2_avx512(const void* p, std::uint64_t bytes) { return read_streams<2>(p, bytes); }
std::uint64_t read4_avx512(const void* p, std::uint64_t bytes) { return read_streams<4>(p, bytes); }

void copy_avx512(void* dst, const void* src, std::uint64_t bytes) {
  const auto* s = static_cast<const __m512i*>(src);
  auto* d = static_cast<__m512i*>(dst);
  for (std::uint64_t i = 0; i < bytes / 64; i += 4) {
    const __m512i a = _mm512_load_si512(s + i), b = _mm512_load_si512(s + i + 1);
    const __m512i c = _mm512_load_si512(s + i + 2), e = _mm512_load_si512(s + i + 3);
    _mm512_store_si512(d + i, a);
    _mm512_store_si512(d + i + 1, b);
    _mm512_store_si512(d + i + 2, c);
    _mm512_store_si512(d + i + 3, e);
  }
}

void triad_avx512(float* a, const float* b, const float* c, float s, std::uint64_t n) {
  const __m512 vs = _mm512_set1_ps(s);
  for (std::uint64_t i = 0; i < n; i += 32) {
    _mm512_store_ps(a + i, _mm512_fmadd_ps(vs, _mm512_load_ps(c + i), _mm512_load_ps(b + i)));
    _mm512_store_ps(a + i + 16,
                    _mm512_fmadd_ps(vs, _mm512_load_ps(c + i + 16), _mm512_load_ps(b + i + 16)));
  }
}

// One asm block per iteration: 12 independent chains (enough to cover the multiply's latency), the
// operands loaded from L1 as a kernel loads its activations, xmm/ymm/zmm15 as the product register.
// Written in asm because GCC 12 spills some of the 12 accumulators of the intrinsic version to
// the stack every iteration, which would measure the store port instead of the multiplier.
std::int64_t peak_avx512bw(std::int64_t iters) {
  alignas(64) std::int8_t q[12][64];
  for (int j = 0; j < 12; ++j)
    for (int i = 0; i < 64; ++i) q[j][i] = static_cast<std::int8_t>(i * 7 + j - 50);
  __m512i a = _mm512_set1_epi8(3);
  __m512i c0 = _mm512_setzero_si512(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0, c8 = c0,
          c9 = c0, c10 = c0, c11 = c0;
  for (std::int64_t i = 0; i < iters; ++i)
    asm volatile(
        "vpmaddubsw 0(%[q]), %[a], %%zmm15\n\t"
        "vpaddw %%zmm15, %[c0], %[c0]\n\t"
        "vpmaddubsw 64(%[q]), %[a], %%zmm15\n\t"
        "vpaddw %%zmm15, %[c1], %[c1]\n\t"
        "vpmaddubsw 128(%[q]), %[a], %%zmm15\n\t"
        "vpaddw %%zmm15, %[c2], %[c2]\n\t"
        "vpmaddubsw 192(%[q]), %[a], %%zmm15\n\t"
        "vpaddw %%zmm15, %[c3], %[c3]\n\t"
        "vpmaddubsw 256(%[q]), %[a], %%zmm15\n\t"
        "vpaddw %%zmm15, %[c4], %[c4]\n\t"
        "vpmaddubsw 320(%[q]), %[a], %%zmm15\n\t"
        "vpaddw %%zmm15, %[c5], %[c5]\n\t"
        "vpmaddubsw 384(%[q]), %[a], %%zmm15\n\t"
        "vpaddw %%zmm15, %[c6], %[c6]\n\t"
        "vpmaddubsw 448(%[q]), %[a], %%zmm15\n\t"
        "vpaddw %%zmm15, %[c7], %[c7]\n\t"
        "vpmaddubsw 512(%[q]), %[a], %%zmm15\n\t"
        "vpaddw %%zmm15, %[c8], %[c8]\n\t"
        "vpmaddubsw 576(%[q]), %[a], %%zmm15\n\t"
        "vpaddw %%zmm15, %[c9], %[c9]\n\t"
        "vpmaddubsw 640(%[q]), %[a], %%zmm15\n\t"
        "vpaddw %%zmm15, %[c10], %[c10]\n\t"
        "vpmaddubsw 704(%[q]), %[a], %%zmm15\n\t"
        "vpaddw %%zmm15, %[c11], %[c11]\n\t"
        : [c0] "+v"(c0), [c1] "+v"(c1), [c2] "+v"(c2), [c3] "+v"(c3), [c4] "+v"(c4), [c5] "+v"(c5),
          [c6] "+v"(c6), [c7] "+v"(c7), [c8] "+v"(c8), [c9] "+v"(c9), [c10] "+v"(c10), [c11] "+v"(c11)
        : [a] "v"(a), [q] "r"(&q[0][0])
        : "zmm15", "memory");
  c0 = _mm512_add_epi32(_mm512_add_epi32(_mm512_add_epi32(c0, c1), _mm512_add_epi32(c2, c3)), _mm512_add_epi32(_mm512_add_epi32(c4, c5), _mm512_add_epi32(c6, c7)));
  c0 = _mm512_add_epi32(c0, _mm512_add_epi32(_mm512_add_epi32(c8, c9), _mm512_add_epi32(c10, c11)));
  return static_cast<std::int64_t>(lane_sum(c0));
}

}  // namespace tritbench::roofline
