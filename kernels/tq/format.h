#pragma once
// TQ2_0 and TQ1_0: llama.cpp mainline's ternary block types (spec/bitnet-formats.md section 6), as
// stored in GGUF (types 35 and 34). 256 weights per block, each block ending in an fp16 scale d.
//
// TQ2_0 (66 bytes, 2.0625 bits/weight):  qs[64] | d
//   code = w + 1 (0, 1, 2) in 2 bits. Byte 32g + m (g = 0, 1; m = 0..31), bits 2l+1..2l (l = 0..3)
//   hold element 128g + 32l + m:
//        qs byte   0 .. 31                 32 .. 63
//        bits 1:0  elements   0.. 31       128..159
//        bits 3:2  elements  32.. 63       160..191
//        bits 5:4  elements  64.. 95       192..223
//        bits 7:6  elements  96..127       224..255
//
// TQ1_0 (54 bytes, 1.6875 bits/weight):  qs[48] | qh[4] | d
//   Five codes c0..c4 (c = w + 1) form v = c0*81 + c1*27 + c2*9 + c3*3 + c4 in 0..242, stored as
//   the byte ceil(v * 256 / 243): a base-3 fraction of 256, so digit n comes out as the top bits
//   of ((byte * 3^n) mod 256) * 3, most significant first. Which element is digit n of which byte:
//        qs[m],      m = 0..31:  digit n = element      32n + m   (elements   0..159)
//        qs[32 + m], m = 0..15:  digit n = element 160 + 16n + m  (elements 160..239)
//        qh[m],      m = 0..3:   digit n = element 240 +  4n + m  (n = 0..3; elements 240..255),
//                                digit 4 = 0 (four codes, shifted up one digit)
//
// Rows: each row of the canonical matrix is cut into Kp/256 blocks (Kp = round_up(K, 256)), rows
// follow each other (ld = bytes per row). Columns past K hold weight 0, so for K % 256 == 0 the
// packed data is byte for byte the GGUF tensor. d is the tensor's weight scale in fp16, repeated in
// every block as llama.cpp's converter writes it for BitNet; the kernels never read it: they
// compute sum_k code*q - sum_k q exactly in integers and the shared epilogue applies the float
// scale (PackedWeights::scale, which fp16 would round).
//
// Prepared activations (both types): the int8 row is reordered per block so that each decoded
// weight vector meets its activations with one 64-byte load (AVX2 uses the 32-byte halves):
//   TQ2_0, 4 x 64 bytes per block: plane l = [q[32l .. 32l+31] | q[128+32l .. 128+32l+31]]
//   TQ1_0, 5 x 64 bytes per block: digit n = [q[32n + 0..31] | q[160+16n + 0..15] |
//                                             q[240+4n + 0..3] (0 for n = 4) | 12 zero bytes]
// matching a 64-byte load of the block's qs (TQ2_0), or of its first 52 bytes, qs and qh (TQ1_0).

#include <cstdint>

namespace tritbench::tq {

inline constexpr int kBlock = 256;

struct BlockTQ2 {
  std::uint8_t qs[kBlock / 4];
  std::uint16_t d;  // fp16
};
static_assert(sizeof(BlockTQ2) == 66, "TQ2_0 is 66 bytes per 256 weights");

struct BlockTQ1 {
  std::uint8_t qs[(kBlock - 4 * kBlock / 64) / 5];  // 48: 240 elements, 5 per byte
  std::uint8_t qh[kBlock / 64];  // 4: 16 elements, 4 per byte
  std::uint16_t d;  // fp16
};
static_assert(sizeof(BlockTQ1) == 54, "TQ1_0 is 54 bytes per 256 weights");

// The TQ1_0 AVX-512 kernel's per-lane int32 sums of byte * activation products hold for K < 842000;
// TQ1_0 packing refuses K above this.
inline constexpr std::int64_t kMaxKTQ1 = std::int64_t{1} << 19;

inline constexpr int kPrepTQ2 = 4 * 64;  // prepared activation bytes per block
inline constexpr int kPrepTQ1 = 5 * 64;

// Digit n (0 = most significant) of a TQ1_0 byte: the top bits of ((b * 3^n) mod 256) * 3.
inline constexpr int tq1_digit(std::uint8_t b, int n) {
  unsigned y = b;
  for (int i = 0; i < n; ++i) y = (y * 3) & 0xFF;
  return static_cast<int>((y * 3) >> 8);
}
// The byte of five codes (c[0] most significant).
inline constexpr std::uint8_t tq1_byte(const int c[5]) {
  const unsigned v = ((((c[0] * 3u + c[1]) * 3u + c[2]) * 3u + c[3]) * 3u + c[4]);
  return static_cast<std::uint8_t>((v * 256 + 242) / 243);
}

// Rows per cache block of a batched GEMM: every token passes over a block of rows (about 256 KiB of
// weights, which stay in L2) before the next block, so a batch reads its weights from DRAM once
// instead of once per token group. A whole multiple of `multiple` (the kernel's micro-tile rows).
inline std::int64_t rows_per_block(std::int64_t ldw, std::int64_t multiple) {
  constexpr std::int64_t kBlockBytes = 256 * 1024;
  const std::int64_t r = kBlockBytes / ldw / multiple * multiple;
  return r > multiple ? r : multiple;
}

// Plain-data arguments of the ISA-specific kernels (both types).
struct GemmArgs {
  const std::uint8_t* w;  // row 0
  std::int64_t ldw;  // bytes per row
  std::int64_t blocks;  // Kp / 256
  const std::int8_t* q;  // prepared activations of row 0 (reordered per block)
  std::int64_t ldq;
  const std::int32_t* qsum;
  std::int64_t N;
  std::int64_t m0, m1;
  std::int32_t* c;
  std::int64_t ldc;
};

void tq2_gemm_scalar(const GemmArgs& a);
void tq2_gemm_avx2(const GemmArgs& a);
void tq2_gemm_avx512vnni(const GemmArgs& a);
void tq1_gemm_scalar(const GemmArgs& a);
void tq1_gemm_avx2(const GemmArgs& a);
void tq1_gemm_avx512vnni(const GemmArgs& a);

}  // namespace tritbench::tq
