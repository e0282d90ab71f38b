#pragma once
// I2_R16: tritbench's own 2-bit ternary layout, row-interleaved for vpdpbusd (AVX-512 VNNI).
//
// Code per weight: code = w + 1 (-1 -> 0, 0 -> 1, +1 -> 2), 2 bits. The matrix is cut into tiles of
// 16 rows x 16 columns = 64 bytes. In tile (g, c) (rows 16g.., columns 16c..):
//
//      byte   4r + j        (r = row in the tile 0..15, j = 0..3)
//      bits   1:0   3:2   5:4   7:6          <- plane s = 0..3
//      column 16c+j 16c+4+j 16c+8+j 16c+12+j  (= 16c + 4s + j), all of row 16g + r
//
// Why this shape: a zmm register is 16 int32 lanes and vpdpbusd adds, in each lane, the products of
// its 4 bytes. With plane s isolated, lane r holds row r's codes for 4 consecutive columns, and the
// 4 activations of those columns are one dword broadcast to every lane. So one load of 64 weight
// bytes plus one broadcast feed 16 rows at once, lanes are output rows (no horizontal sums: I2_S
// needs one per row, a large share of a GEMV), and the same tile serves every token of a batch.
// The interleaving is ik_llama.cpp's idea for IQ2_BN ("one weight load feeds several rows"),
// re-derived here for the VNNI dword granularity; the kernel and its measurements are in
// kernels/i2r/README.md.
//
// Row groups come in quads (64 rows), the unit the AVX-512 kernel computes together: for each
// column tile, the quad's four tiles lie one after another (256 bytes), so a quad is one
// sequential stream of Kp/16 x 256 bytes and quads follow each other. (Four separate group
// streams, the first layout, read a cold GEMV at 45% of the read bandwidth: the hardware
// prefetchers followed one stream across pages far better than four, one per row group. Reading
// whole quads from two or four places far apart, the tile's st, is another matter: README.md.)
// Padding: rows to Mp = round_up(M, 64) and columns to Kp = round_up(K, 16) hold code 1 (weight
// 0), so padding contributes nothing whatever the activations are (and the quantized rows are zero
// there anyway).
//
// The kernels compute sum_k code*q - sum_k q (code unsigned for vpdpbusd, q signed), exactly.

#include <cstdint>

namespace tritbench::i2r {

inline constexpr int kRows = 16;  // rows per tile (int32 lanes of a zmm)
inline constexpr int kCols = 16;  // columns per tile (4 planes x 4 bytes per lane)
inline constexpr int kTileBytes = kRows * kCols / 4;
inline constexpr int kQuadRows = 4 * kRows;  // rows per quad of row groups

struct Tile {
  std::uint8_t b[kTileBytes];
};
static_assert(sizeof(Tile) == 64,
              "an I2_R16 tile is one 64-byte zmm: 16 rows x 16 columns x 2 bits");

// The masked-plane GEMV accumulates code * 4^s * q per plane (see gemm_avx512vnni.cpp); per lane
// and tile that is at most 4 * 2*64 * 128 = 65536, so int32 holds Kp/16 tiles for Kp <= 2^19.
inline constexpr std::int64_t kMaxK = std::int64_t{1} << 19;

inline constexpr std::uint8_t encode(int t) { return static_cast<std::uint8_t>(t + 1); }
inline constexpr int decode(unsigned code) { return code == 3 ? 0 : int(code) - 1; }

// Byte offset and shift of weight (m, k) in a packed matrix with Kp columns.
inline constexpr std::int64_t byte_of(std::int64_t m, std::int64_t k, std::int64_t Kp) {
  return (m / kQuadRows) * (Kp * 16) + (k / kCols) * (4 * kTileBytes) + ((m / kRows) % 4) * kTileBytes +
         4 * (m % kRows) + (k % 4);
}
inline constexpr int shift_of(std::int64_t k) { return 2 * static_cast<int>((k % kCols) / 4); }

// Plain-data arguments of the ISA-specific kernels.
struct GemmArgs {
  const std::uint8_t* w;  // packed quads, 16*Kp bytes apart
  std::int64_t Kp;
  const std::int8_t* q;  // activation rows, zero beyond K up to Kp
  std::int64_t ldq;
  const std::int32_t* qsum;  // per activation row: sum of q
  std::int64_t N;
  std::int64_t m0, m1;  // m0 a multiple of 64 for the AVX-512 kernel
  std::int32_t* c;
  std::int64_t ldc;
  std::int64_t block_rows;  // rows per L2 block of a batch (a multiple of kQuadRows)
  std::int64_t prefetch;  // software prefetch distance in bytes, 0 = none
  int streams;  // 2 or 4: a single-token GEMV reads its quads as that many streams
                // (gemm_avx512vnni.cpp); else one
};

// The AVX-512 row's tile (kernels/i2r/tiles.cpp): br = rows per L2 block of a batch (a multiple of
// 64; 0 = about kBlockBytes of weights), pf = software prefetch distance of the first token's pass
// in bytes (a multiple of 256 up to 1 MiB; 0 = none), st = 2 or 4 for a single-token GEMV that
// reads two or four quad streams at once (0 or 1: one). None changes the packed bytes.
inline constexpr std::int64_t kBlockBytes = 256 * 1024;  // half of a Zen 4/5 L2
inline constexpr int kMaxPrefetch = 1 << 20;
inline std::int64_t default_block_rows(std::int64_t Kp) {
  const std::int64_t quads = kBlockBytes / (Kp * 16);
  return (quads < 1 ? 1 : quads) * kQuadRows;
}

// The streams a single-token GEMV asked for st streams reads: st, except 4 on a CPU without GFNI
// (the four-stream loop's plane extraction), which reads 2; the tile reported says so.
int gemv_streams(int st);

void gemm_scalar(const GemmArgs& a);
void gemm_avx512vnni(const GemmArgs& a);

}  // namespace tritbench::i2r
