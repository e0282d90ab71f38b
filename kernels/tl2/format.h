#pragma once
// TL2: bitnet.cpp's triple lookup-table format (spec/bitnet-formats.md section 4), any shape.
//
// Each triple of weights (w0, w1, w2) at columns (3t, 3t+1, 3t+2) is v = 9*w0 + 3*w1 + w2 in
// [-13, 13], stored as the 4-bit index |v| and a sign bit (v < 0): 5 bits per 3 weights. Per triple
// of activations (b0, b1, b2) the kernel looks up the int16 entry of the non-negative
// representative (digits of |v| in balanced ternary):
//
//   |v|:  0   1    2      3    4      5         6      7
//   T:    0   b2   b1-b2  b1   b1+b2  b0-b1-b2  b0-b1  b0-b1+b2
//   |v|:  8      9    10     11        12     13
//   T:    b0-b2  b0   b0+b2  b0+b1-b2  b0+b1  b0+b1+b2
//
// and negates it when the sign bit is set. |T| <= 384 (three activations of -128).
//
// Sign without a multiply: the kernels complement both bytes of a negative entry (~e = -e - 1,
// bytewise, a masked op on AVX-512, an xor on AVX2) and add back, per row, the number of negative
// triples (stored at pack time, PackedWeights::extra). A complemented entry has |~e| <= 384 too,
// so int16 block sums are exact over at most 85 triples (85 * 384 = 32640); blocks are whole groups
// of 8 triples, so at most kMaxBlockTriples = 80.
//
// K remainder: K = 3*T + r. The T triples are padded to Tp = round_up(T, 8) with zero triples
// (index 0, entry 0, sign 0); the r = 1 or 2 last columns form one TL1 pair (kernels/tl1/format.h,
// index 3*w0 + w1 + 4, second weight 0 when r = 1), stored with a zero pair as one TL1 chunk and
// looked up TL1-style in its own int16 block.
//
// Packed layout, per tile of 64 rows (Mp = round_up(M, 64)), Tp/8 groups then the pair chunk:
//
//   group (320 bytes) = 4 index chunks of 64 bytes + 8 sign words of 8 bytes
//     chunk c, byte r:  bits 7..4 = |v| of (row r, triple 8g+2c+1)
//                       bits 3..0 = |v| of (row r, triple 8g+2c)
//     sign word j:      bit r = sign of (row r, triple 8g+j)      (one __mmask64 per triple)
//   pair chunk (64 bytes, only if r > 0): byte r = TL1 index of (row r, remainder pair) | 4 << 4
//
// 5 bits per 3 weights: 1.67 bits per weight, padding aside.
//
// Tables (prepare, per activation row): Tp triples x 32 bytes [16 low][16 high] of the entries
// above (zero for padded triples), then, if r > 0, two TL1 tables (remainder pair, zero pair).
//
// Tile parameters (TileConfig): k_block = weights per int16 block, a multiple of 24 up to
// 3 * kMaxBlockTriples; 0 means kDefaultBlockTriples. col_block = tokens that share one pass over
// a tile's decoded indices in the exact AVX-512 kernel: 1, 2 or 4 (0 means 4; the other kernels
// take one token, or four in the scalar one, at a time). Other fields are ignored.
//
// TL2_0 (approximate, family tl2_q8, same packed weights): the T-MAC style lossy variant. The
// triple tables of an activation row are quantized to int8 with one scale per row,
// sigma = max|T| / 127 (sigma = 1 for an all-zero row), e' = round(T / sigma), and stored biased
// (e' + 128, one 16-byte table per triple: one lookup instead of two, no byte re-interleaving). The
// remainder pair stays exact (TL1 int16 tables). Error: each triple's lookup is off by at most
// sigma / 2 <= 384 / 127 / 2 = 1.512 in integer units, so the sum over T <= K/3 triples is off
// by at most 0.504 * K integer units, i.e. |y - y_exact| <= 0.504 * K * w_scale / s[n]: ErrorBound
// step_units = 0.51. The rounding errors are near uniform on [-sigma/2, sigma/2] and independent
// across triples, so their variance is about T * sigma^2 / 12 against a signal variance of
// (2/3) * K * E[q^2]: NMSE ~ sigma^2 / (24 E[q^2]), about 2e-4 for gaussian activations (absmax
// near 3.5-4 RMS) and 7e-5 for uniform int8; the stated nmse bound 1e-3 holds for activation rows
// whose absmax is within about 6 RMS. Rows with large outliers raise sigma relative to the typical
// entry (a per-row scale's known weakness) and can exceed it; the max-error bound always holds.

#include <cstdint>

namespace tritbench::tl2 {

inline constexpr int kTileRows = 64;
inline constexpr int kGroupTriples = 8;
inline constexpr int kChunkBytes = 64;  // 64 rows x 2 triples x 4 bits
inline constexpr int kGroupBytes = 4 * kChunkBytes + kGroupTriples * 8;  // indices + sign words
inline constexpr int kPairChunkBytes = 64;
inline constexpr int kTableBytes = 32;  // int16 tables: 16 low bytes + 16 high bytes
inline constexpr int kTableBytesQ8 = 16;  // TL2_0: 16 biased int8 entries
inline constexpr int kMaxBlockTriples = 80;  // 85 * 384 = 32640 <= 32767, whole groups of 8
inline constexpr int kDefaultBlockTriples = 80;
// The SIMD kernels' software prefetch distance along a tile's groups (non-temporal, only in a
// single pass over a tile: a GEMV, or an AVX-512 batch of exactly col_block tokens). The lookups
// keep the loop near compute-bound, and without it a cold GEMV ran at a third of its in-cache
// speed (kernels/tl2/README.md).
inline constexpr int kPrefetchBytes = 4096;

struct Group {
  std::uint8_t idx[4][kTileRows];
  std::uint64_t sign[kGroupTriples];
};
static_assert(sizeof(Group) == kGroupBytes && kGroupBytes == 320,
              "a TL2 group is 64 rows x 8 triples x (4 index bits + 1 sign bit)");
struct Table {
  std::uint8_t lo[16], hi[16];
};
static_assert(sizeof(Table) == kTableBytes, "a TL2 table is 16 int16 entries split into bytes");

// v = 9*w0 + 3*w1 + w2 and back.
inline constexpr int triple_value(int w0, int w1, int w2) { return 9 * w0 + 3 * w1 + w2; }
inline constexpr int digit(int v, int i) {  // weight i (0, 1, 2) of v in [-13, 13]
  const int u = v + 13;  // base-3 digits of u are the weights + 1
  return (i == 0 ? u / 9 : i == 1 ? (u / 3) % 3 : u % 3) - 1;
}
// Entry |v| = i (0..15) of the table of activations (b0, b1, b2).
inline constexpr int entry(int i, int b0, int b1, int b2) {
  return i > 13 ? 0 : digit(i, 0) * b0 + digit(i, 1) * b1 + digit(i, 2) * b2;
}

// Plain-data arguments of the ISA-specific kernels.
struct GemmArgs {
  const std::uint8_t* w;  // tile 0
  std::int64_t tile_bytes;
  std::int64_t triples;  // Tp, a multiple of 8
  bool has_pair;  // the TL1 remainder chunk follows the groups
  const std::int32_t* nneg;  // per row (Mp): number of negative triples
  const std::uint8_t* lut;  // tables of activation row 0
  std::int64_t ld_lut;
  std::int64_t N;
  std::int64_t m0, m1;  // m0 a multiple of 64
  std::int32_t* c;  // exact kernels: sum_k t*q
  std::int64_t ldc;
  int block_triples;  // a multiple of 8, <= kMaxBlockTriples
  int col_block;  // 1, 2 or 4
  // TL2_0 only: y = (sigma[n] * sum e' + pair sum) / act_scale[n] * w_scale
  float* y;
  std::int64_t ldy;
  const float* sigma;
  const float* act_scale;
  float w_scale;
};

void gemm_scalar(const GemmArgs& a);
// Scalar helper shared by the portable kernels: |v| and sign of every triple of row m, and the
// remainder pair's two TL1 indices.
void decode_row(const GemmArgs& a, std::int64_t m, std::uint8_t* idx, std::uint8_t* neg,
                std::uint8_t* pair);
void gemm_avx2(const GemmArgs& a);
void gemm_avx512(const GemmArgs& a);
void gemm_q8_scalar(const GemmArgs& a);
void gemm_q8_avx512(const GemmArgs& a);

// Triple tables (int16, low/high bytes) of one activation row: q holds 3 * triples values (zero
// from column 3*T on) plus 64 readable bytes.
void build_tables_scalar(const std::int8_t* q, std::int64_t triples, std::uint8_t* out);
void build_tables_avx2(const std::int8_t* q, std::int64_t triples, std::uint8_t* out);
void build_tables_avx512(const std::int8_t* q, std::int64_t triples, std::uint8_t* out);

// TL2_0: quantizes the int16 tables t16 of one row to biased int8 tables (16 bytes per triple);
// returns the row's scale sigma.
float quantize_tables_scalar(const std::uint8_t* t16, std::int64_t triples, std::uint8_t* out);
float quantize_tables_avx512(const std::uint8_t* t16, std::int64_t triples, std::uint8_t* out);

}  // namespace tritbench::tl2
