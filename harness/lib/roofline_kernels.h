#pragma once
// Measurement kernels of the roofline (harness/lib/roofline.h), one ISA per file
// (roofline_avx2.cpp, roofline_avx512.cpp, roofline_avx512vnni.cpp; the scalar ones in roofline.cpp).
// Plain functions over raw pointers only: the ISA files are compiled with their own flags.
//
// Bandwidth kernels stream a whole array once and return a value that depends on every byte read,
// so the compiler cannot drop the loads. Peak kernels run `iters` iterations of a fixed block of
// independent int8 multiply-add chains (enough chains to cover the instruction's latency) and
// return a checksum; the caller counts ops = iters * ops_per_iter.

#include <cstdint>

namespace tritbench::roofline {

// Sums of 64-bit words: read bandwidth. bytes is a multiple of 512; p is 64-byte aligned.
// read_*: one sequential stream. read2_*: the two halves of [p, p + bytes) as two sequential
// streams read in alternation (bytes a multiple of 1024), which gets 6-35% more from DRAM than
// one stream on the Zen 5 VM this was written on; read4_*: its four quarters (bytes a multiple of
// 2048), at times more than two there (roofline.h says why all three are measured).
std::uint64_t read_scalar(const void* p, std::uint64_t bytes);
std::uint64_t read_avx2(const void* p, std::uint64_t bytes);
std::uint64_t read_avx512(const void* p, std::uint64_t bytes);
std::uint64_t read2_scalar(const void* p, std::uint64_t bytes);
std::uint64_t read2_avx2(const void* p, std::uint64_t bytes);
std::uint64_t read2_avx512(const void* p, std::uint64_t bytes);
std::uint64_t read4_scalar(const void* p, std::uint64_t bytes);
std::uint64_t read4_avx2(const void* p, std::uint64_t bytes);
std::uint64_t read4_avx512(const void* p, std::uint64_t bytes);
// dst = src (regular stores: what a kernel writing its output does).
void copy_avx2(void* dst, const void* src, std::uint64_t bytes);
void copy_avx512(void* dst, const void* src, std::uint64_t bytes);
// a = b + s * c over n floats (n a multiple of 64).
void triad_avx2(float* a, const float* b, const float* c, float s, std::uint64_t n);
void triad_avx512(float* a, const float* b, const float* c, float s, std::uint64_t n);

// Int8 multiply-add peaks. Each returns a checksum; ops per iteration is the matching constant
// (2 ops per u8 x s8 product: multiply and add, as kernels' GOP/s count 2*M*K*N).
std::int64_t peak_scalar(std::int64_t iters);  // pmaddwd + paddd, xmm (SSE2 = baseline x86-64)
inline constexpr double kOpsScalar = 2.0 * 8 * 12;  // 12 chains of 8 int16 products
std::int64_t peak_avx2(std::int64_t iters);  // vpmaddubsw + vpaddw, ymm
inline constexpr double kOpsAvx2 = 2.0 * 32 * 12;  // 12 chains of 32 products
std::int64_t peak_avxvnni(std::int64_t iters);  // vpdpbusd ymm (VEX, AVX-VNNI)
inline constexpr double kOpsAvxVnni = 2.0 * 32 * 12;
std::int64_t peak_avx512bw(std::int64_t iters);  // vpmaddubsw + vpaddw, zmm
inline constexpr double kOpsAvx512bw = 2.0 * 64 * 12;
std::int64_t peak_avx512vnni(std::int64_t iters);  // vpdpbusd zmm
inline constexpr double kOpsAvx512Vnni = 2.0 * 64 * 12;

}  // namespace tritbench::roofline
