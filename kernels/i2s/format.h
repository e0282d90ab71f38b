#pragma once
// I2_S: bitnet.cpp's 2-bit ternary format, x86 layout (spec/bitnet-formats.md section 3).
//
// Code per weight: -1 -> 0, 0 -> 1, +1 -> 2 (3 is unused; files using it are refused on load).
// Blocks of 128 weights = 32 bytes. In block i, byte p (0..31) holds four weights:
//
//      bit  7 6 | 5 4 | 3 2 | 1 0
//    weight  p  | p+32| p+64| p+96        (indices within the block)
//
// So "plane" j (bits 7-2j..6-2j of all 32 bytes) is 32 consecutive weights 32j..32j+31, which
// lines up with 32 consecutive int8 activations: no activation shuffling is needed.
//
// On disk (GGUF type 36) the M x K tensor is flattened row-major, cut into blocks of 128 and followed
// by a 32-byte trailer: the float weight scale at byte M*K/4, then 28 zero bytes.
//
// In memory (PackedWeights) each row is padded to Kp = round_up(K, 128) with code 1 (weight 0), so
// blocks never straddle rows; ld = Kp / 4 bytes. When K % 128 == 0 the packed data equals the file
// tensor's bytes (without the trailer), so a loaded file can be used without a round trip.
//
// The kernels compute sum_k (code-1) * q as sum_k code*q - sum_k q: code is an unsigned byte (0..2)
// and q a signed byte, exactly the operand types of maddubs / vpdpbusd; sum_k q comes with the
// quantized batch. Accumulation is in int32 (exact for every input; see each kernel for bounds).

#include <cstdint>

namespace tritbench::i2s {

inline constexpr int kBlock = 128;  // weights per block
inline constexpr int kBlockBytes = 32;
inline constexpr int kTrailerBytes = 32;  // file only: float scale + 28 zero bytes

struct Block {
  std::uint8_t qs[kBlockBytes];
};
static_assert(sizeof(Block) == kBlock / 4, "I2_S block is 32 bytes for 128 weights");

inline constexpr std::uint8_t encode(int t) { return static_cast<std::uint8_t>(t + 1); }
inline constexpr int decode(std::uint8_t code) { return code == 3 ? 0 : int(code) - 1; }

// Plain-data arguments of the ISA-specific kernels (built for -mavx2 / -mavx512*; see CMakeLists).
struct GemmArgs {
  const std::uint8_t* w;  // packed rows, ld bytes apart, Kp/128 blocks each
  std::int64_t ldw;
  std::int64_t Kp;
  const std::int8_t* q;  // activation rows, zero beyond K up to Kp
  std::int64_t ldq;
  const std::int32_t* qsum;  // per activation row: sum of q
  std::int64_t N;
  std::int64_t m0, m1;
  std::int32_t* c;
  std::int64_t ldc;
  // The tile, as resolved by i2s::effective_tile (kernels/i2s/tiles.cpp): every field set.
  int row_block;  // weight rows per micro-tile (GEMM and GEMV)
  int col_block;  // activation rows per micro-tile (GEMM)
  int block_rows;  // weight rows per cache block (activation-parallel order)
  int parallel;  // 0: activation-parallel, 1: weight-parallel (see tiles.cpp)
};

void gemm_scalar(const GemmArgs& a);
void gemm_avx2(const GemmArgs& a);
void gemm_avx512vnni(const GemmArgs& a);

}  // namespace tritbench::i2s
