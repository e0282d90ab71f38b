// TQ2_0 / TQ1_0, portable: byte i of a block, bit plane (digit) s meets prepared activation
// 64*s + i (format.h). Each row's codes are decoded once into that order (zero where a byte
// encodes nothing), then dotted with every token's prepared activations in int32.
#include <vector>

#include "kernels/tq/format.h"

namespace tritbench::tq {

namespace {

template <int BlockBytes, int DataBytes, int Slots, int (*Code)(std::uint8_t, int)>
void gemm(const GemmArgs& a) {
  const std::int64_t len = a.blocks * Slots * 64;
  std::vector<std::uint8_t> code(static_cast<std::size_t>(len), 0);
  for (std::int64_t m = a.m0; m < a.m1; ++m) {
    const std::uint8_t* row = a.w + m * a.ldw;
    for (std::int64_t b = 0; b < a.blocks; ++b)
      for (int i = 0; i < DataBytes; ++i)
        for (int s = 0; s < Slots; ++s)
          code[b * Slots * 64 + 64 * s + i] =
              static_cast<std::uint8_t>(Code(row[b * BlockBytes + i], s));
    for (std::int64_t n = 0; n < a.N; ++n) {
      const std::int8_t* q = a.q + n * a.ldq;
      std::int32_t acc = 0;  // |sum code*q| <= 2 * 128 * Kp
      for (std::int64_t j = 0; j < len; ++j) acc += code[j] * q[j];
      a.c[n * a.ldc + m] = acc - a.qsum[n];
    }
  }
}

int tq2_code(std::uint8_t x, int plane) { return (x >> (2 * plane)) & 3; }
int tq1_code(std::uint8_t x, int digit) { return tq1_digit(x, digit); }

}  // namespace

void tq2_gemm_scalar(const GemmArgs& a) { gemm<sizeof(BlockTQ2), 64, 4, tq2_code>(a); }
void tq1_gemm_scalar(const GemmArgs& a) { gemm<sizeof(BlockTQ1), 52, 5, tq1_code>(a); }

}  // namespace tritbench::tq
