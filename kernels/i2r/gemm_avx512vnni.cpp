// I2_R16, AVX-512 VNNI. Lanes are output rows (format.h), so nothing is summed horizontally.
//
// Masked planes: per 16x16 tile and row group, one 64-byte load, four ANDs (plane s =
// x & (3 << 2s), i.e. code * 4^s in place) and four vpdpbusd against the four broadcast activation
// dwords of the tile's columns, each plane into its own accumulator; the planes are combined at the
// end by exact arithmetic shifts (every product of plane s is a multiple of 4^s). One ALU op per
// vpdpbusd is the least any 2-bit format needs, and ANDs issue on pipes vpdpbusd does not use, so
// the loop runs at the vpdpbusd peak (2 per cycle on Zen 5) while the data is in cache. Four row
// groups (a quad, stored tile-interleaved: one sequential stream) share each broadcast: 16
// accumulators. Rows are padded to whole quads, so there is no narrower tail loop.
//
// Batches: the rows are cut into blocks that fit in L2 and every token runs the same GEMV over a
// block before the next block, so the weights come from DRAM once per call and from L2 for each
// token. This is as fast as a register-blocked GEMM over decoded weights (measured: a 2-group x
// 8-token micro-kernel on a decoded panel reached the same vpdpbusd rate at batch 128 and lost at
// batch 4..16 to its decoding), because both run at the multiply peak.
//
// Tile (tiles.cpp): br sets the block (default about kBlockBytes of weights), pf a software
// prefetch pf bytes ahead in the quad stream during the first token's pass over a block (to L2,
// where later tokens find the block; a single-token GEMV prefetches non-temporally, see Pf).
// pf is off unless a tile sets it (i2r_pf__avx512vnni: 4096): see README.md ("Prefetch") for the
// side-by-side numbers behind that. st=2 makes a single-token GEMV read a thread's quads as two
// streams, its first and second half, a quad of each at once (gemv4x2; README.md, "Two streams"),
// st=4 as four (gemv4x4; gemv_flat for two or three quads: "Four streams", "Leftover quads").
//
// Why inline assembly for the hot loop: GCC 12 keeps two copies of the 16 accumulators of this
// loop (a register-to-register move per accumulator per iteration, measured: about half the
// speed). The loop is fixed-register and spelled out below; everything around it is C++.
#include <immintrin.h>

#include <algorithm>

#include "kernels/i2r/format.h"

namespace tritbench::i2r {

namespace {

#define TB_ZMM(i) "%%zmm" #i
#define TB_ZERO(i) "vpxord " TB_ZMM(i) ", " TB_ZMM(i) ", " TB_ZMM(i) "\n\t"
#define TB_STORE(i) "vmovdqa64 " TB_ZMM(i) ", " #i "*64(%[out])\n\t"
// The 16 accumulators zmm0-15: zeroed before a loop, stored to out[0..256) after it.
#define TB_ZERO_16                                                                          \
  TB_ZERO(0) TB_ZERO(1) TB_ZERO(2) TB_ZERO(3) TB_ZERO(4) TB_ZERO(5) TB_ZERO(6) TB_ZERO(7) \
  TB_ZERO(8) TB_ZERO(9) TB_ZERO(10) TB_ZERO(11) TB_ZERO(12) TB_ZERO(13) TB_ZERO(14) TB_ZERO(15)
#define TB_STORE_16                                                                                \
  TB_STORE(0) TB_STORE(1) TB_STORE(2) TB_STORE(3) TB_STORE(4) TB_STORE(5) TB_STORE(6) TB_STORE(7) \
  TB_STORE(8) TB_STORE(9) TB_STORE(10) TB_STORE(11) TB_STORE(12) TB_STORE(13) TB_STORE(14) TB_STORE(15)
// The tile's 16 activations as four dwords, each broadcast to every lane: zmm20-23.
#define TB_BROADCAST_Q                       \
  "vpbroadcastd 0(%[q]), %%zmm20\n\t"        \
  "vpbroadcastd 4(%[q]), %%zmm21\n\t"        \
  "vpbroadcastd 8(%[q]), %%zmm22\n\t"        \
  "vpbroadcastd 12(%[q]), %%zmm23\n\t"
#define TB_CLOBBER_16                                                                        \
  "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", \
      "xmm11", "xmm12", "xmm13", "xmm14", "xmm15"

alignas(64) constexpr std::uint8_t kPlaneMasks[4][64] = {
#define TB_R16(v) v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v
    {TB_R16(0x03), TB_R16(0x03), TB_R16(0x03), TB_R16(0x03)},
    {TB_R16(0x0C), TB_R16(0x0C), TB_R16(0x0C), TB_R16(0x0C)},
    {TB_R16(0x30), TB_R16(0x30), TB_R16(0x30), TB_R16(0x30)},
    {TB_R16(0xC0), TB_R16(0xC0), TB_R16(0xC0), TB_R16(0xC0)}};
#undef TB_R16

// The masks of gemv4x2: bits 1:0 and 3:2 of every byte.
alignas(64) constexpr std::uint8_t kPairMasks[2][64] = {
#define TB_R64(v) TB_R16(v), TB_R16(v), TB_R16(v), TB_R16(v)
#define TB_R16(v) v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v
    {TB_R64(0x03)}, {TB_R64(0x0C)}};
#undef TB_R16
#undef TB_R64

// The bit matrices of gemv4x4: vgf2p8affineqb sets result bit i of each byte to the parity of
// (row i AND the byte), row i being byte 7 - i of the qword. Matrix s (1..3) has row 0 = bit 2s
// and row 1 = bit 2s + 1, the rest zero: plane s of each byte moved to bits 1:0, as a 0..2 code.
constexpr std::uint64_t plane_matrix(int s) {
  return (std::uint64_t{1} << (2 * s)) << 56 | (std::uint64_t{1} << (2 * s + 1)) << 48;
}
alignas(64) constexpr std::uint64_t kPlaneMatrices[3][8] = {
#define TB_R8(v) v, v, v, v, v, v, v, v
    {TB_R8(plane_matrix(1))}, {TB_R8(plane_matrix(2))}, {TB_R8(plane_matrix(3))}};
#undef TB_R8

// The lanes of the 16 rows starting at row m that lie below m1.
inline __mmask16 rows_below(std::int64_t m, std::int64_t m1) {
  const std::int64_t valid = m1 - m;
  if (valid <= 0) return 0;
  return valid >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << valid) - 1);
}

// Writes 16 rows' results starting at row m, only those below m1.
inline void store_rows(std::int32_t* c, std::int64_t m, std::int64_t m1, __m512i v) {
  if (const __mmask16 k = rows_below(m, m1)) _mm512_mask_storeu_epi32(c + m, k, v);
}

// Adds v to 16 rows' results starting at row m, only those below m1.
inline void add_rows(std::int32_t* c, std::int64_t m, std::int64_t m1, __m512i v) {
  if (const __mmask16 k = rows_below(m, m1))
    _mm512_mask_storeu_epi32(c + m, k, _mm512_add_epi32(_mm512_maskz_loadu_epi32(k, c + m), v));
}

// sum_s planes[s] >> 2s - qsum: the exact code*q sum of 16 rows minus the activation sum.
inline __m512i combine_planes(const __m512i p[4], std::int32_t qsum) {
  __m512i s = _mm512_add_epi32(p[0], _mm512_srai_epi32(p[1], 2));
  s = _mm512_add_epi32(s, _mm512_srai_epi32(p[2], 4));
  s = _mm512_add_epi32(s, _mm512_srai_epi32(p[3], 6));
  return _mm512_sub_epi32(s, _mm512_set1_epi32(qsum));
}

// How the loop prefetches pf bytes ahead: not at all, prefetcht2 (to L2: a batch's first token,
// whose block the later tokens read again from L2), or prefetchnta (a single-token GEMV, whose
// weights are read once). With NTA the single-token GEMV streams faster from DRAM: median 1.087x
// weight GB/s, faster in 23 of 24 alternating old/new pairs (README.md, "Prefetch").
enum class Pf { kNone, kL2, kNta };

// GEMV of one quad (4 row groups, 64 rows) at w; plane sums into out[group][plane]. With a
// prefetch kind, each iteration also prefetches the 256 bytes pf ahead in the stream.
template <Pf kPf>
void gemv4(const std::uint8_t* w, std::int64_t Kp, const std::int8_t* q, std::int32_t* out,
           std::int64_t pf) {
  std::int64_t tiles = Kp / kCols;
  const std::uint8_t* w0 = w;
#define TB_GROUP(addr, a0, a1, a2, a3)                                      \
  "vmovdqa64 " addr ", %%zmm24\n\t"                                         \
  "vpandd %%zmm16, %%zmm24, %%zmm25\n\t"                                    \
  "vpdpbusd %%zmm20, %%zmm25, " TB_ZMM(a0) "\n\t"                           \
  "vpandd %%zmm17, %%zmm24, %%zmm26\n\t"                                    \
  "vpdpbusd %%zmm21, %%zmm26, " TB_ZMM(a1) "\n\t"                           \
  "vpandd %%zmm18, %%zmm24, %%zmm27\n\t"                                    \
  "vpdpbusd %%zmm22, %%zmm27, " TB_ZMM(a2) "\n\t"                           \
  "vpandd %%zmm19, %%zmm24, %%zmm28\n\t"                                    \
  "vpdpbusd %%zmm23, %%zmm28, " TB_ZMM(a3) "\n\t"
#define TB_PREFETCH(op)            \
  op " (%[w0],%[pf])\n\t"          \
  op " 64(%[w0],%[pf])\n\t"        \
  op " 128(%[w0],%[pf])\n\t"       \
  op " 192(%[w0],%[pf])\n\t"

#define TB_LOOP(PREFETCH)                                                                      \
  asm volatile(                                                                                \
      TB_ZERO_16                                                                               \
      "vmovdqa64 0(%[m]), %%zmm16\n\t"                                                         \
      "vmovdqa64 64(%[m]), %%zmm17\n\t"                                                        \
      "vmovdqa64 128(%[m]), %%zmm18\n\t"                                                       \
      "vmovdqa64 192(%[m]), %%zmm19\n\t"                                                       \
      "1:\n\t"                                                                                 \
      TB_BROADCAST_Q                                                                           \
      PREFETCH                                                                                 \
      TB_GROUP("(%[w0])", 0, 1, 2, 3)                                                          \
      TB_GROUP("64(%[w0])", 4, 5, 6, 7)                                                        \
      TB_GROUP("128(%[w0])", 8, 9, 10, 11)                                                     \
      TB_GROUP("192(%[w0])", 12, 13, 14, 15)                                                   \
      "add $256, %[w0]\n\t"                                                                    \
      "add $16, %[q]\n\t"                                                                      \
      "dec %[n]\n\t"                                                                           \
      "jnz 1b\n\t"                                                                             \
      TB_STORE_16                                                                              \
      : [w0] "+r"(w0), [q] "+r"(q), [n] "+r"(tiles)                                           \
      : [m] "r"(kPlaneMasks), [out] "r"(out), [pf] "r"(pf)                                    \
      : "memory", "cc", TB_CLOBBER_16, "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21",  \
        "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm28")
  if constexpr (kPf == Pf::kL2)
    TB_LOOP(TB_PREFETCH("prefetcht2"));
  else if constexpr (kPf == Pf::kNta)
    TB_LOOP(TB_PREFETCH("prefetchnta"));
  else
    TB_LOOP("");
#undef TB_LOOP
#undef TB_PREFETCH
#undef TB_GROUP
}

// GEMV of two quads at once, wa and wb: two streams (see "Two streams" in README.md). Sixteen
// accumulators hold two per row group and quad, so the planes are paired: per 64-byte tile x, a
// 16-bit right shift by 4 gives y, whose bytes hold planes 2 and 3 in bits 3:0 (the bits shifted
// in from the next byte land in bits 7:4, which the masks drop). lo accumulates
// (x & 3)*q0 + (y & 3)*q2 = code0*q0 + code2*q2 and hi (x & 12)*q1 + (y & 12)*q3 =
// 4*(code1*q1 + code3*q3), so the row sum is lo + (hi >> 2), exactly. Per tile a lane adds at
// most 2*4*2*128 = 2048 to lo and 4 times that to hi: int32 holds Kp/16 tiles up to Kp = 2^22.
// out: [quad a, b][group 0..3][lo, hi][16 lanes].
template <Pf kPf>
void gemv4x2(const std::uint8_t* wa, const std::uint8_t* wb, std::int64_t Kp, const std::int8_t* q,
             std::int32_t* out, std::int64_t pf) {
  std::int64_t tiles = Kp / kCols;
#define TB_GROUP2(addr, lo, hi)                                             \
  "vmovdqa64 " addr ", %%zmm24\n\t"                                         \
  "vpsrlw $4, %%zmm24, %%zmm25\n\t"                                         \
  "vpandd %%zmm16, %%zmm24, %%zmm26\n\t"                                    \
  "vpdpbusd %%zmm20, %%zmm26, " TB_ZMM(lo) "\n\t"                           \
  "vpandd %%zmm17, %%zmm24, %%zmm27\n\t"                                    \
  "vpdpbusd %%zmm21, %%zmm27, " TB_ZMM(hi) "\n\t"                           \
  "vpandd %%zmm16, %%zmm25, %%zmm28\n\t"                                    \
  "vpdpbusd %%zmm22, %%zmm28, " TB_ZMM(lo) "\n\t"                           \
  "vpandd %%zmm17, %%zmm25, %%zmm29\n\t"                                    \
  "vpdpbusd %%zmm23, %%zmm29, " TB_ZMM(hi) "\n\t"
#define TB_PREFETCH2(op)           \
  op " (%[wa],%[pf])\n\t"          \
  op " 64(%[wa],%[pf])\n\t"        \
  op " 128(%[wa],%[pf])\n\t"       \
  op " 192(%[wa],%[pf])\n\t"       \
  op " (%[wb],%[pf])\n\t"          \
  op " 64(%[wb],%[pf])\n\t"        \
  op " 128(%[wb],%[pf])\n\t"       \
  op " 192(%[wb],%[pf])\n\t"
#define TB_LOOP2(PREFETCH)                                                                     \
  asm volatile(                                                                                \
      TB_ZERO_16                                                                               \
      "vmovdqa64 0(%[m]), %%zmm16\n\t"                                                         \
      "vmovdqa64 64(%[m]), %%zmm17\n\t"                                                        \
      "1:\n\t"                                                                                 \
      TB_BROADCAST_Q                                                                           \
      PREFETCH                                                                                 \
      TB_GROUP2("(%[wa])", 0, 1) TB_GROUP2("(%[wb])", 8, 9)                                    \
      TB_GROUP2("64(%[wa])", 2, 3) TB_GROUP2("64(%[wb])", 10, 11)                              \
      TB_GROUP2("128(%[wa])", 4, 5) TB_GROUP2("128(%[wb])", 12, 13)                            \
      TB_GROUP2("192(%[wa])", 6, 7) TB_GROUP2("192(%[wb])", 14, 15)                            \
      "add $256, %[wa]\n\t"                                                                    \
      "add $256, %[wb]\n\t"                                                                    \
      "add $16, %[q]\n\t"                                                                      \
      "dec %[n]\n\t"                                                                           \
      "jnz 1b\n\t"                                                                             \
      TB_STORE_16                                                                              \
      : [wa] "+r"(wa), [wb] "+r"(wb), [q] "+r"(q), [n] "+r"(tiles)                            \
      : [m] "r"(kPairMasks), [out] "r"(out), [pf] "r"(pf)                                     \
      : "memory", "cc", TB_CLOBBER_16, "xmm16", "xmm17", "xmm20", "xmm21", "xmm22", "xmm23",  \
        "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29")
  if constexpr (kPf == Pf::kNta)
    TB_LOOP2(TB_PREFETCH2("prefetchnta"));
  else
    TB_LOOP2("");
#undef TB_LOOP2
#undef TB_PREFETCH2
#undef TB_GROUP2
}

// GEMV of four quads at once, w[0..3]: four streams (see "Four streams" in README.md). Sixteen
// accumulators are one per row group and quad, so all four planes of a tile go into one: plane 0
// by an AND (x & 3), planes 1-3 by one GF(2) affine transform each (vgf2p8affineqb with
// kPlaneMatrices: the plane's two bits moved to bits 1:0, the rest cleared), i.e. each plane as an
// unscaled code 0..2, so the lane adds code*q for all 16 columns of the tile. Four ops per
// vpdpbusd and line as in gemv4; GFNI instead of shifts keeps it at one op per plane. Per tile a
// lane adds at most 16*2*128 = 4096: int32 holds Kp/16 tiles up to Kp = 2^23.
// out: [quad 0..3][group 0..3][16 lanes], each lane sum_k code*q over the quad's row.
template <Pf kPf>
void gemv4x4(const std::uint8_t* const* w, std::int64_t Kp, const std::int8_t* q, std::int32_t* out,
             std::int64_t pf) {
  std::int64_t tiles = Kp / kCols;
  const std::uint8_t *wa = w[0], *wb = w[1], *wc = w[2], *wd = w[3];
#define TB_GROUP4(addr, acc)                                                \
  "vmovdqa64 " addr ", %%zmm24\n\t"                                         \
  "vpandd %%zmm16, %%zmm24, %%zmm25\n\t"                                    \
  "vpdpbusd %%zmm20, %%zmm25, " TB_ZMM(acc) "\n\t"                          \
  "vgf2p8affineqb $0, %%zmm17, %%zmm24, %%zmm26\n\t"                        \
  "vpdpbusd %%zmm21, %%zmm26, " TB_ZMM(acc) "\n\t"                          \
  "vgf2p8affineqb $0, %%zmm18, %%zmm24, %%zmm27\n\t"                        \
  "vpdpbusd %%zmm22, %%zmm27, " TB_ZMM(acc) "\n\t"                          \
  "vgf2p8affineqb $0, %%zmm19, %%zmm24, %%zmm28\n\t"                        \
  "vpdpbusd %%zmm23, %%zmm28, " TB_ZMM(acc) "\n\t"
#define TB_PREFETCH4_ONE(op, p)    \
  op " (%[" p "],%[pf])\n\t"       \
  op " 64(%[" p "],%[pf])\n\t"     \
  op " 128(%[" p "],%[pf])\n\t"    \
  op " 192(%[" p "],%[pf])\n\t"
// Also gemv4x4q's: the four streams' prefetches, the 256 bytes pf ahead of each.
#define TB_PREFETCH4(op)                                  \
  TB_PREFETCH4_ONE(op, "wa") TB_PREFETCH4_ONE(op, "wb")   \
  TB_PREFETCH4_ONE(op, "wc") TB_PREFETCH4_ONE(op, "wd")
#define TB_LOOP4(PREFETCH)                                                                     \
  asm volatile(                                                                                \
      TB_ZERO_16                                                                               \
      "vmovdqa64 0(%[m0]), %%zmm16\n\t"                                                        \
      "vmovdqa64 0(%[m]), %%zmm17\n\t"                                                         \
      "vmovdqa64 64(%[m]), %%zmm18\n\t"                                                        \
      "vmovdqa64 128(%[m]), %%zmm19\n\t"                                                       \
      "1:\n\t"                                                                                 \
      TB_BROADCAST_Q                                                                           \
      PREFETCH                                                                                 \
      TB_GROUP4("(%[wa])", 0) TB_GROUP4("(%[wb])", 4) TB_GROUP4("(%[wc])", 8)                   \
      TB_GROUP4("(%[wd])", 12)                                                                 \
      TB_GROUP4("64(%[wa])", 1) TB_GROUP4("64(%[wb])", 5) TB_GROUP4("64(%[wc])", 9)             \
      TB_GROUP4("64(%[wd])", 13)                                                               \
      TB_GROUP4("128(%[wa])", 2) TB_GROUP4("128(%[wb])", 6) TB_GROUP4("128(%[wc])", 10)         \
      TB_GROUP4("128(%[wd])", 14)                                                              \
      TB_GROUP4("192(%[wa])", 3) TB_GROUP4("192(%[wb])", 7) TB_GROUP4("192(%[wc])", 11)         \
      TB_GROUP4("192(%[wd])", 15)                                                              \
      "add $256, %[wa]\n\t"                                                                    \
      "add $256, %[wb]\n\t"                                                                    \
      "add $256, %[wc]\n\t"                                                                    \
      "add $256, %[wd]\n\t"                                                                    \
      "add $16, %[q]\n\t"                                                                      \
      "dec %[n]\n\t"                                                                           \
      "jnz 1b\n\t"                                                                             \
      TB_STORE_16                                                                              \
      : [wa] "+r"(wa), [wb] "+r"(wb), [wc] "+r"(wc), [wd] "+r"(wd), [q] "+r"(q), [n] "+r"(tiles) \
      : [m0] "r"(kPlaneMasks[0]), [m] "r"(kPlaneMatrices), [out] "r"(out), [pf] "r"(pf)       \
      : "memory", "cc", TB_CLOBBER_16, "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21",  \
        "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm28")
  if constexpr (kPf == Pf::kNta)
    TB_LOOP4(TB_PREFETCH4("prefetchnta"));
  else
    TB_LOOP4("");
#undef TB_LOOP4
#undef TB_GROUP4
}

// gemv4x4 for four streams that may each be at a different column: stream j reads tiles at w[j]
// and the activations at q[j], broadcast from memory by each vpdpbusd (the {1to16} operand), so the
// streams need not be four quads at the same tile (gemv_flat). Accumulators and out as in gemv4x4,
// [stream 0..3][group 0..3][16 lanes], over `tiles` tiles of each stream. In cache this loop took
// 1.10-1.26x gemv4x4's time; four register broadcasts per stream, each stream's tiles after its
// own, matched gemv4x4 in cache but lost ~10% from DRAM (README.md, "Leftover quads").
template <Pf kPf>
void gemv4x4q(const std::uint8_t* const* w, const std::int8_t* const* q, std::int64_t tiles,
              std::int32_t* out, std::int64_t pf) {
  const std::uint8_t *wa = w[0], *wb = w[1], *wc = w[2], *wd = w[3];
  const std::int8_t *qa = q[0], *qb = q[1], *qc = q[2], *qd = q[3];
#define TB_GROUP4Q(addr, qp, acc)                                           \
  "vmovdqa64 " addr ", %%zmm24\n\t"                                         \
  "vpandd %%zmm16, %%zmm24, %%zmm25\n\t"                                    \
  "vpdpbusd 0(%[" qp "])%{1to16%}, %%zmm25, " TB_ZMM(acc) "\n\t"            \
  "vgf2p8affineqb $0, %%zmm17, %%zmm24, %%zmm26\n\t"                        \
  "vpdpbusd 4(%[" qp "])%{1to16%}, %%zmm26, " TB_ZMM(acc) "\n\t"            \
  "vgf2p8affineqb $0, %%zmm18, %%zmm24, %%zmm27\n\t"                        \
  "vpdpbusd 8(%[" qp "])%{1to16%}, %%zmm27, " TB_ZMM(acc) "\n\t"            \
  "vgf2p8affineqb $0, %%zmm19, %%zmm24, %%zmm28\n\t"                        \
  "vpdpbusd 12(%[" qp "])%{1to16%}, %%zmm28, " TB_ZMM(acc) "\n\t"
#define TB_LOOP4Q(PREFETCH)                                                                    \
  asm volatile(                                                                                \
      TB_ZERO_16                                                                               \
      "vmovdqa64 %[m0], %%zmm16\n\t"                                                           \
      "vmovdqa64 %[m1], %%zmm17\n\t"                                                           \
      "vmovdqa64 %[m2], %%zmm18\n\t"                                                           \
      "vmovdqa64 %[m3], %%zmm19\n\t"                                                           \
      "1:\n\t"                                                                                 \
      PREFETCH                                                                                 \
      TB_GROUP4Q("(%[wa])", "qa", 0) TB_GROUP4Q("(%[wb])", "qb", 4)                             \
      TB_GROUP4Q("(%[wc])", "qc", 8) TB_GROUP4Q("(%[wd])", "qd", 12)                            \
      TB_GROUP4Q("64(%[wa])", "qa", 1) TB_GROUP4Q("64(%[wb])", "qb", 5)                         \
      TB_GROUP4Q("64(%[wc])", "qc", 9) TB_GROUP4Q("64(%[wd])", "qd", 13)                        \
      TB_GROUP4Q("128(%[wa])", "qa", 2) TB_GROUP4Q("128(%[wb])", "qb", 6)                       \
      TB_GROUP4Q("128(%[wc])", "qc", 10) TB_GROUP4Q("128(%[wd])", "qd", 14)                     \
      TB_GROUP4Q("192(%[wa])", "qa", 3) TB_GROUP4Q("192(%[wb])", "qb", 7)                       \
      TB_GROUP4Q("192(%[wc])", "qc", 11) TB_GROUP4Q("192(%[wd])", "qd", 15)                     \
      "add $256, %[wa]\n\t"                                                                    \
      "add $256, %[wb]\n\t"                                                                    \
      "add $256, %[wc]\n\t"                                                                    \
      "add $256, %[wd]\n\t"                                                                    \
      "add $16, %[qa]\n\t"                                                                     \
      "add $16, %[qb]\n\t"                                                                     \
      "add $16, %[qc]\n\t"                                                                     \
      "add $16, %[qd]\n\t"                                                                     \
      "dec %[n]\n\t"                                                                           \
      "jnz 1b\n\t"                                                                             \
      TB_STORE_16                                                                              \
      : [wa] "+r"(wa), [wb] "+r"(wb), [wc] "+r"(wc), [wd] "+r"(wd), [qa] "+r"(qa),             \
        [qb] "+r"(qb), [qc] "+r"(qc), [qd] "+r"(qd), [n] "+r"(tiles)                           \
      : [m0] "m"(kPlaneMasks[0]), [m1] "m"(kPlaneMatrices[0]), [m2] "m"(kPlaneMatrices[1]),    \
        [m3] "m"(kPlaneMatrices[2]), [out] "r"(out), [pf] "r"(pf)                              \
      : "memory", "cc", TB_CLOBBER_16, "xmm16", "xmm17", "xmm18", "xmm19", "xmm24", "xmm25",  \
        "xmm26", "xmm27", "xmm28")
  if constexpr (kPf == Pf::kNta)
    TB_LOOP4Q(TB_PREFETCH4("prefetchnta"));
  else
    TB_LOOP4Q("");
#undef TB_LOOP4Q
#undef TB_PREFETCH4
#undef TB_PREFETCH4_ONE
#undef TB_GROUP4Q
}

// The 16 rows of group g of the quad whose sums gemv4x2 left at o (lo at o, hi 16 lanes on).
inline __m512i combine_pair(const std::int32_t* o, std::int32_t qsum) {
  const __m512i lo = _mm512_load_si512(o), hi = _mm512_load_si512(o + 16);
  return _mm512_sub_epi32(_mm512_add_epi32(lo, _mm512_srai_epi32(hi, 2)), _mm512_set1_epi32(qsum));
}

// GEMV for token n over quads [u0, u1), results for rows < m1.
void gemv_token(const GemmArgs& a, std::int64_t n, std::int64_t u0, std::int64_t u1,
                std::int64_t pf) {
  const std::int8_t* q = a.q + n * a.ldq;
  std::int32_t* c = a.c + n * a.ldc;
  alignas(64) std::int32_t out[4 * 4 * 16];
  for (std::int64_t u = u0; u < u1; ++u) {
    const std::uint8_t* w = a.w + u * a.Kp * 16;
    if (pf <= 0)
      gemv4<Pf::kNone>(w, a.Kp, q, out, 0);
    else if (a.N == 1)
      gemv4<Pf::kNta>(w, a.Kp, q, out, pf);
    else
      gemv4<Pf::kL2>(w, a.Kp, q, out, pf);
    for (int i = 0; i < 4; ++i) {
      __m512i p[4];
      for (int s = 0; s < 4; ++s) p[s] = _mm512_load_si512(out + (4 * i + s) * 16);
      store_rows(c, u * kQuadRows + i * kRows, a.m1, combine_planes(p, a.qsum[n]));
    }
  }
}

// Single-token GEMV of quads ua and ub at once (two streams).
void gemv_pair(const GemmArgs& a, std::int64_t ua, std::int64_t ub, std::int64_t pf) {
  alignas(64) std::int32_t out[2 * 4 * 2 * 16];
  const std::int64_t quad_bytes = a.Kp * 16;
  if (pf > 0)
    gemv4x2<Pf::kNta>(a.w + ua * quad_bytes, a.w + ub * quad_bytes, a.Kp, a.q, out, pf);
  else
    gemv4x2<Pf::kNone>(a.w + ua * quad_bytes, a.w + ub * quad_bytes, a.Kp, a.q, out, pf);
  for (int g = 0; g < 4; ++g) {
    store_rows(a.c, ua * kQuadRows + g * kRows, a.m1, combine_pair(out + g * 32, a.qsum[0]));
    store_rows(a.c, ub * kQuadRows + g * kRows, a.m1, combine_pair(out + 128 + g * 32, a.qsum[0]));
  }
}

// Single-token GEMV over quads [u0, u1) as two streams: the first half of the quads and the second,
// a quad of each at a time (the middle quad of an odd count alone at the end).
void gemv_two_streams(const GemmArgs& a, std::int64_t u0, std::int64_t u1, std::int64_t pf) {
  const std::int64_t n = u1 - u0, half = n / 2, ub = u0 + (n + 1) / 2;
  for (std::int64_t i = 0; i < half; ++i) gemv_pair(a, u0 + i, ub + i, pf);
  if (n % 2) gemv_token(a, 0, ub - 1, ub, pf);
}

// Prefetches [p, p + n) (the start of a stream whose loop prefetches pf bytes ahead of itself, and
// would otherwise begin with pf bytes of demand misses). Only within the call's rows: a prefetch
// never faults, but the look-ahead in the loop is the only one allowed past the end.
void prefetch_start(const std::uint8_t* p, std::int64_t n) {
  for (std::int64_t i = 0; i < n; i += 64)
    _mm_prefetch(reinterpret_cast<const char*>(p + i), _MM_HINT_T1);
}

// Single-token GEMV over quads [u0, u1) as four streams, each one contiguous quarter of the
// range's bytes. Quads follow each other and a quad is its column tiles in order (256 bytes each),
// so the range is one sequence of (u1 - u0) * Kp/16 such tiles, cut here at tile boundaries: a
// stream may start or end inside a quad and run on into the next, reading other columns than the
// other streams (gemv4x4q). The loop runs in segments that end where a stream reaches the end of a
// quad, and each segment's sums are added to the rows of the quads its streams were in (the rows
// start at -qsum). The up to three tiles that four equal parts leave over run as one stream.
// For a thread with two or three quads, which would otherwise read two streams (one quad reads
// as one: four pieces of it were no faster, README.md "Leftover quads").
void gemv_flat(const GemmArgs& a, std::int64_t u0, std::int64_t u1, std::int64_t pf) {
  constexpr std::int64_t kQuadTile = 4 * kTileBytes;
  const std::int64_t T = a.Kp / kCols, total = (u1 - u0) * T, len = total / 4;
  const std::uint8_t* base = a.w + u0 * T * kQuadTile;
  std::int64_t pos[4];
  for (int j = 0; j < 4; ++j) pos[j] = j * len;
  if (pf > 0)
    for (int j = 0; j < 4; ++j)
      prefetch_start(base + pos[j] * kQuadTile, std::min(pf, len * kQuadTile));
  const __m512i start = _mm512_set1_epi32(-a.qsum[0]);
  for (std::int64_t m = u0 * kQuadRows; m < u1 * kQuadRows; m += kRows)
    store_rows(a.c, m, a.m1, start);
  alignas(64) std::int32_t out[4 * 4 * 16];
  for (std::int64_t done = 0; done < len;) {
    std::int64_t step = len - done;
    const std::uint8_t* w[4];
    const std::int8_t* q[4];
    for (int j = 0; j < 4; ++j) {
      step = std::min(step, T - pos[j] % T);
      w[j] = base + pos[j] * kQuadTile;
      q[j] = a.q + pos[j] % T * kCols;
    }
    if (pf > 0)
      gemv4x4q<Pf::kNta>(w, q, step, out, pf);
    else
      gemv4x4q<Pf::kNone>(w, q, step, out, pf);
    for (int j = 0; j < 4; ++j) {
      const std::int64_t m = (u0 + pos[j] / T) * kQuadRows;
      for (int g = 0; g < 4; ++g)
        add_rows(a.c, m + g * kRows, a.m1, _mm512_load_si512(out + (4 * j + g) * 16));
      pos[j] += step;
    }
    done += step;
  }
  for (std::int64_t p = 4 * len; p < total;) {
    const std::int64_t t = p % T, n = std::min(total - p, T - t), m = (u0 + p / T) * kQuadRows;
    gemv4<Pf::kNone>(base + p * kQuadTile, n * kCols, a.q + t * kCols, out, 0);
    for (int g = 0; g < 4; ++g) {
      __m512i planes[4];
      for (int s = 0; s < 4; ++s) planes[s] = _mm512_load_si512(out + (4 * g + s) * 16);
      add_rows(a.c, m + g * kRows, a.m1, combine_planes(planes, 0));
    }
    p += n;
  }
}

// Single-token GEMV over quads [u0, u1), u1 - u0 >= 4, as four streams: the quads cut into four
// consecutive parts, a quad of each at a time; the last quads of the parts one longer than the
// shortest (one to three) then as a pair of streams and, if odd, one alone. Each of those continues
// its part's stream: read as four pieces instead (gemv_flat), three of them start cold, and the
// layer's calls and decoding came out no faster (README.md, "Leftover quads").
void gemv_four_streams(const GemmArgs& a, std::int64_t u0, std::int64_t u1, std::int64_t pf) {
  const std::int64_t n = u1 - u0, common = n / 4, quad_bytes = a.Kp * 16;
  std::int64_t start[5];
  for (int j = 0; j <= 4; ++j) start[j] = u0 + n * j / 4;
  if (pf > 0)
    for (int j = 0; j < 4; ++j)
      prefetch_start(a.w + start[j] * quad_bytes,
                     std::min(pf, (start[j + 1] - start[j]) * quad_bytes));
  alignas(64) std::int32_t out[4 * 4 * 16];
  const std::uint8_t* w[4];
  const __m512i qsum = _mm512_set1_epi32(a.qsum[0]);
  for (std::int64_t i = 0; i < common; ++i) {
    for (int j = 0; j < 4; ++j) w[j] = a.w + (start[j] + i) * quad_bytes;
    if (pf > 0)
      gemv4x4<Pf::kNta>(w, a.Kp, a.q, out, pf);
    else
      gemv4x4<Pf::kNone>(w, a.Kp, a.q, out, pf);
    for (int j = 0; j < 4; ++j)
      for (int g = 0; g < 4; ++g)
        store_rows(a.c, (start[j] + i) * kQuadRows + g * kRows, a.m1,
                   _mm512_sub_epi32(_mm512_load_si512(out + (4 * j + g) * 16), qsum));
  }
  std::int64_t left[3];
  int n_left = 0;
  for (int j = 0; j < 4; ++j)
    if (start[j + 1] - start[j] > common) left[n_left++] = start[j] + common;
  if (n_left >= 2) gemv_pair(a, left[0], left[1], pf);
  if (n_left % 2) gemv_token(a, 0, left[n_left - 1], left[n_left - 1] + 1, pf);
}

}  // namespace

void gemm_avx512vnni(const GemmArgs& a) {
  // m0 is a multiple of 64 (the registry row's row_multiple); the last quad may be partly padding.
  const std::int64_t u0 = a.m0 / kQuadRows, u1 = (a.m1 + kQuadRows - 1) / kQuadRows;
  const std::int64_t per_block = a.block_rows / kQuadRows, quad_bytes = a.Kp * 16;
  if (a.N == 1 && a.streams == 4 && u1 - u0 >= 4) {
    gemv_four_streams(a, u0, u1, a.prefetch);
    return;
  }
  if (a.N == 1 && a.streams == 4 && u1 - u0 >= 2 && (u1 - u0) * (a.Kp / kCols) >= 4) {
    gemv_flat(a, u0, u1, a.prefetch);
    return;
  }
  if (a.N == 1 && a.streams >= 2 && u1 - u0 >= 2) {
    if (a.prefetch > 0) {
      const std::int64_t ub = u0 + (u1 - u0 + 1) / 2;  // gemv_two_streams' second stream
      prefetch_start(a.w + u0 * quad_bytes, std::min(a.prefetch, (ub - u0) * quad_bytes));
      prefetch_start(a.w + ub * quad_bytes, std::min(a.prefetch, (u1 - ub) * quad_bytes));
    }
    gemv_two_streams(a, u0, u1, a.prefetch);
    return;
  }
  if (a.prefetch > 0) prefetch_start(a.w + u0 * quad_bytes, std::min(a.prefetch, (u1 - u0) * quad_bytes));
  for (std::int64_t ub = u0; ub < u1; ub += per_block) {
    const std::int64_t ue = ub + per_block < u1 ? ub + per_block : u1;
    for (std::int64_t n = 0; n < a.N; ++n) gemv_token(a, n, ub, ue, n == 0 ? a.prefetch : 0);
  }
}

#undef TB_ZMM
#undef TB_ZERO
#undef TB_STORE
#undef TB_ZERO_16
#undef TB_STORE_16
#undef TB_BROADCAST_Q
#undef TB_CLOBBER_16

}  // namespace tritbench::i2r
