#pragma once
// TL1: bitnet.cpp's pair lookup-table format (spec/bitnet-formats.md section 4), any shape.
//
// Each pair of weights (w0, w1) at columns (2p, 2p+1) becomes the 4-bit index
//
//     i = 3*w0 + w1 + 4  in 0..8        (2 bits per weight)
//
// and per pair of activations (b0, b1) the kernel looks up the int16 entry
//
//     i:      0       1    2       3    4  5   6       7   8        (9..15 unused, 0)
//     T[i]:  -b0-b1  -b0  -b0+b1  -b1   0  b1  b0-b1   b0  b0+b1
//
// |T[i]| <= 256. A 16-entry int16 table does not fit one pshufb, so it is stored as two 16-byte
// tables, low bytes and high bytes; the two lookups are re-interleaved into int16 (unpacklo/hi)
// and summed. Those int16 sums are exact only over a bounded number of pairs: 127 * 256 = 32512,
// 128 * 256 = 32768 overflows (all activations -128 with all weights -1: T[0] = +256). So the
// kernels sum int16 over blocks of at most kMaxBlockPairs pairs and widen to int32 after each.
//
// Packed layout: rows in tiles of 64 (Mp = round_up(M, 64)), pairs padded to Pp = round_up(
// ceil(K/2), 2) with zero weights (index 4, entry 0 whatever the activations). Within a tile,
// chunk c (64 bytes) holds pairs 2c and 2c+1 of all 64 rows:
//
//     byte r of chunk c:   bits 7..4 = index of (row r, pair 2c+1)   bits 3..0 = (row r, pair 2c)
//
// so one 64-byte load gives a pshufb index vector for 64 rows (x & 0xF, then x >> 4): every lane
// looks up the same pair's table, which is broadcast to all 128-bit lanes. AVX2 uses the two
// 32-byte halves. Tiles follow each other; tile_bytes = 32 * Pp.
//
// Tables (prepare, per activation row): Pp pairs x 32 bytes = [16 low bytes][16 high bytes].
//
// Tile parameters (TileConfig): k_block = weights per int16 block, a multiple of 4 (whole chunks)
// and at most 2 * kMaxBlockPairs; 0 means kDefaultBlockPairs. col_block = tokens that share one
// pass over a tile's decoded indices in the AVX-512 kernel: 1, 2 or 4 (0 means 4; the scalar and
// AVX2 kernels use 4 and 1). Other fields are ignored.

#include <cstdint>

namespace tritbench::tl1 {

inline constexpr int kTileRows = 64;
inline constexpr int kChunkBytes = 64;  // 64 rows x 2 pairs x 4 bits
// The SIMD kernels' software prefetch distance along a tile's chunks (non-temporal, only in a
// single pass over a tile: a GEMV, or an AVX-512 batch of exactly col_block tokens;
// kernels/tl2/README.md).
inline constexpr int kPrefetchBytes = 4096;
inline constexpr int kTableBytes = 32;  // per pair: 16 low bytes + 16 high bytes
inline constexpr int kMaxBlockPairs = 126;  // 126 * 256 = 32256 <= 32767; a whole number of chunks
inline constexpr int kDefaultBlockPairs = 120;

struct Chunk {
  std::uint8_t idx[kTileRows];
};
static_assert(sizeof(Chunk) == kChunkBytes, "a TL1 chunk is 64 rows x 2 pairs of 4-bit indices");
struct Table {
  std::uint8_t lo[16], hi[16];
};
static_assert(sizeof(Table) == kTableBytes, "a TL1 table is 16 int16 entries split into bytes");

inline constexpr std::uint8_t encode(int w0, int w1) {
  return static_cast<std::uint8_t>(3 * w0 + w1 + 4);
}
inline constexpr int decode_w0(unsigned i) { return int(i) / 3 - 1; }
inline constexpr int decode_w1(unsigned i) { return int(i) % 3 - 1; }
// Entry i of the table of activations (b0, b1): decode_w0(i) * b0 + decode_w1(i) * b1.
inline constexpr int entry(unsigned i, int b0, int b1) {
  return i > 8 ? 0 : decode_w0(i) * b0 + decode_w1(i) * b1;
}

// Plain-data arguments of the ISA-specific kernels.
struct GemmArgs {
  const std::uint8_t* w;  // tile 0
  std::int64_t tile_bytes;  // 32 * Pp
  std::int64_t pairs;  // Pp
  const std::uint8_t* lut;  // tables of activation row 0
  std::int64_t ld_lut;  // bytes between activation rows' tables (32 * Pp)
  std::int64_t N;
  std::int64_t m0, m1;  // m0 a multiple of 64
  std::int32_t* c;
  std::int64_t ldc;
  int block_pairs;  // even, <= kMaxBlockPairs
  int col_block;  // 1, 2 or 4
};

void gemm_scalar(const GemmArgs& a);
void gemm_avx2(const GemmArgs& a);
void gemm_avx512(const GemmArgs& a);

// Tables of one activation row: q holds 2 * pairs values (zero beyond K) plus 64 readable bytes.
void build_tables_scalar(const std::int8_t* q, std::int64_t pairs, std::uint8_t* out);
void build_tables_avx2(const std::int8_t* q, std::int64_t pairs, std::uint8_t* out);
void build_tables_avx512(const std::int8_t* q, std::int64_t pairs, std::uint8_t* out);

}  // namespace tritbench::tl1
