// Roofline measurement kernels, AVX2: streaming reads, copy, triad, the vpmaddubsw/vpmaddwd int8
// chain of bitnet.cpp-style kernels, and AVX-VNNI's VEX vpdpbusd ymm (compiled for that one
// function with a target attribute; called only when the CPU reports avx_vnni).
#include <immintrin.h>

#include "harness/lib/roofline_kernels.h"

namespace tritbench::roofline {

namespace {

inline std::int32_t hsum32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s);
}

__attribute__((target("avxvnni"))) inline void dpbusd_vex(__m256i& acc, __m256i a, __m256i b) {
  asm("%{vex%} vpdpbusd %2, %1, %0" : "+x"(acc) : "x"(a), "x"(b));
}

}  // namespace

// S sequential streams, the S equal parts of [p, p + bytes), 8 / S vectors of each per iteration
// into 8 accumulators (S = 1: eight consecutive vectors). Named accumulators: with an array GCC 12
// copies all eight every iteration.
template <int S>
std::uint64_t read_streams(const void* p, std::uint64_t bytes) {
  const auto* v = static_cast<const __m256i*>(p);
  const std::uint64_t vecs = bytes / 32 / S;  // per stream
  auto at = [&](std::uint64_t i, int j) { return _mm256_load_si256(v + (j % S) * vecs + i + j / S); };
  __m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
  for (std::uint64_t i = 0; i < vecs; i += 8 / S) {
    s0 = _mm256_add_epi64(s0, at(i, 0));
    s1 = _mm256_add_epi64(s1, at(i, 1));
    s2 = _mm256_add_epi64(s2, at(i, 2));
    s3 = _mm256_add_epi64(s3, at(i, 3));
    s4 = _mm256_add_epi64(s4, at(i, 4));
    s5 = _mm256_add_epi64(s5, at(i, 5));
    s6 = _mm256_add_epi64(s6, at(i, 6));
    s7 = _mm256_add_epi64(s7, at(i, 7));
  }
  s0 = _mm256_add_epi64(_mm256_add_epi64(_mm256_add_epi64(s0, s1), _mm256_add_epi64(s2, s3)),
                        _mm256_add_epi64(_mm256_add_epi64(s4, s5), _mm256_add_epi64(s6, s7)));
  alignas(32) std::uint64_t w[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(w), s0);
  return w[0] + w[1] + w[2] + w[3];
}

std::uint64_t read_avx2(const void* p, std::uint64_t bytes) { return read_streams<1>(p, bytes); }
std::uint64_t read2_avx2(const void* p, std::uint64_t bytes) { return read_streams<2>(p, bytes); }
std::uint64_t read4_avx2(const void* p, std::uint64_t bytes) { return read_streams<4>(p, bytes); }

void copy_avx2(void* dst, const void* src, std::uint64_t bytes) {
  const auto* s = static_cast<const __m256i*>(src);
  auto* d = static_cast<__m256i*>(dst);
  for (std::uint64_t i = 0; i < bytes / 32; i += 4) {
    const __m256i a = _mm256_load_si256(s + i), b = _mm256_load_si256(s + i + 1);
    const __m256i c = _mm256_load_si256(s + i + 2), e = _mm256_load_si256(s + i + 3);
    _mm256_store_si256(d + i, a);
    _mm256_store_si256(d + i + 1, b);
    _mm256_store_si256(d + i + 2, c);
    _mm256_store_si256(d + i + 3, e);
  }
}

void triad_avx2(float* a, const float* b, const float* c, float s, std::uint64_t n) {
  const __m256 vs = _mm256_set1_ps(s);
  for (std::uint64_t i = 0; i < n; i += 16) {
    _mm256_store_ps(a + i, _mm256_fmadd_ps(vs, _mm256_load_ps(c + i), _mm256_load_ps(b + i)));
    _mm256_store_ps(a + i + 8, _mm256_fmadd_ps(vs, _mm256_load_ps(c + i + 8), _mm256_load_ps(b + i + 8)));
  }
}

// One asm block per iteration: 12 independent chains (enough to cover the multiply's latency), the
// operands loaded from L1 as a kernel loads its activations, xmm/ymm/zmm15 as the product register.
// Written in asm because GCC 12 spills some of the 12 accumulators of the intrinsic version to
// the stack every iteration, which would measure the store port instead of the multiplier.
std::int64_t peak_avx2(std::int64_t iters) {
  alignas(64) std::int8_t q[12][32];
  for (int j = 0; j < 12; ++j)
    for (int i = 0; i < 32; ++i) q[j][i] = static_cast<std::int8_t>(i * 7 + j - 50);
  __m256i a = _mm256_set1_epi8(3);
  __m256i c0 = _mm256_setzero_si256(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0, c8 = c0,
          c9 = c0, c10 = c0, c11 = c0;
  for (std::int64_t i = 0; i < iters; ++i)
    asm volatile(
        "vpmaddubsw 0(%[q]), %[a], %%ymm15\n\t"
        "vpaddw %%ymm15, %[c0], %[c0]\n\t"
        "vpmaddubsw 32(%[q]), %[a], %%ymm15\n\t"
        "vpaddw %%ymm15, %[c1], %[c1]\n\t"
        "vpmaddubsw 64(%[q]), %[a], %%ymm15\n\t"
        "vpaddw %%ymm15, %[c2], %[c2]\n\t"
        "vpmaddubsw 96(%[q]), %[a], %%ymm15\n\t"
        "vpaddw %%ymm15, %[c3], %[c3]\n\t"
        "vpmaddubsw 128(%[q]), %[a], %%ymm15\n\t"
        "vpaddw %%ymm15, %[c4], %[c4]\n\t"
        "vpmaddubsw 160(%[q]), %[a], %%ymm15\n\t"
        "vpaddw %%ymm15, %[c5], %[c5]\n\t"
        "vpmaddubsw 192(%[q]), %[a], %%ymm15\n\t"
        "vpaddw %%ymm15, %[c6], %[c6]\n\t"
        "vpmaddubsw 224(%[q]), %[a], %%ymm15\n\t"
        "vpaddw %%ymm15, %[c7], %[c7]\n\t"
        "vpmaddubsw 256(%[q]), %[a], %%ymm15\n\t"
        "vpaddw %%ymm15, %[c8], %[c8]\n\t"
        "vpmaddubsw 288(%[q]), %[a], %%ymm15\n\t"
        "vpaddw %%ymm15, %[c9], %[c9]\n\t"
        "vpmaddubsw 320(%[q]), %[a], %%ymm15\n\t"
        "vpaddw %%ymm15, %[c10], %[c10]\n\t"
        "vpmaddubsw 352(%[q]), %[a], %%ymm15\n\t"
        "vpaddw %%ymm15, %[c11], %[c11]\n\t"
        : [c0] "+x"(c0), [c1] "+x"(c1), [c2] "+x"(c2), [c3] "+x"(c3), [c4] "+x"(c4), [c5] "+x"(c5),
          [c6] "+x"(c6), [c7] "+x"(c7), [c8] "+x"(c8), [c9] "+x"(c9), [c10] "+x"(c10), [c11] "+x"(c11)
        : [a] "x"(a), [q] "r"(&q[0][0])
        : "ymm15", "memory");
  c0 = _mm256_add_epi32(_mm256_add_epi32(_mm256_add_epi32(c0, c1), _mm256_add_epi32(c2, c3)), _mm256_add_epi32(_mm256_add_epi32(c4, c5), _mm256_add_epi32(c6, c7)));
  c0 = _mm256_add_epi32(c0, _mm256_add_epi32(_mm256_add_epi32(c8, c9), _mm256_add_epi32(c10, c11)));
  return hsum32(c0);
}

__attribute__((target("avxvnni"))) std::int64_t peak_avxvnni(std::int64_t iters) {
  __m256i a = _mm256_set1_epi8(3), b = _mm256_set1_epi8(-5);
  asm volatile("" : "+x"(a), "+x"(b));
  // Named accumulators: an array of them is spilled to the stack every iteration by GCC 12.
  __m256i c0 = _mm256_setzero_si256(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0,
          c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0;
  for (std::int64_t i = 0; i < iters; ++i) {
    dpbusd_vex(c0, a, b), dpbusd_vex(c1, a, b), dpbusd_vex(c2, a, b), dpbusd_vex(c3, a, b);
    dpbusd_vex(c4, a, b), dpbusd_vex(c5, a, b), dpbusd_vex(c6, a, b), dpbusd_vex(c7, a, b);
    dpbusd_vex(c8, a, b), dpbusd_vex(c9, a, b), dpbusd_vex(c10, a, b), dpbusd_vex(c11, a, b);
  }
  c0 = _mm256_add_epi32(_mm256_add_epi32(_mm256_add_epi32(c0, c1), _mm256_add_epi32(c2, c3)),
                        _mm256_add_epi32(_mm256_add_epi32(c4, c5), _mm256_add_epi32(c6, c7)));
  c0 = _mm256_add_epi32(c0, _mm256_add_epi32(_mm256_add_epi32(c8, c9), _mm256_add_epi32(c10, c11)));
  return hsum32(c0);
}

}  // namespace tritbench::roofline
