#pragma once
// The interleaved layouts of the output matrix read by the AVX-512 GEMVs. F16 and F32
// (models/output_avx512.cpp): rows in groups of kOutputGroup, columns in slices of kOutputSlice;
// group g holds, for each slice s, the slice s of its rows one after another. Padding rows and
// columns are zero. Q8_0: below.
#include <cstdint>

namespace tritbench::models {

inline constexpr int kOutputGroup = 4;
inline constexpr std::int64_t kOutputSlice = 32;

// Bytes of the interleaved copy of a rows x cols matrix of elem-byte elements.
inline std::int64_t output_interleaved_bytes(std::int64_t rows, std::int64_t cols, std::int64_t elem) {
  const std::int64_t groups = (rows + kOutputGroup - 1) / kOutputGroup;
  const std::int64_t slices = (cols + kOutputSlice - 1) / kOutputSlice;
  return groups * slices * kOutputGroup * kOutputSlice * elem;
}

// Where element (r, c) of the row-major matrix lives in the interleaved copy, in elements.
inline std::int64_t output_interleaved_index(std::int64_t r, std::int64_t c, std::int64_t cols) {
  const std::int64_t slices = (cols + kOutputSlice - 1) / kOutputSlice;
  const std::int64_t g = r / kOutputGroup, j = r % kOutputGroup, s = c / kOutputSlice;
  return ((g * slices + s) * kOutputGroup + j) * kOutputSlice + c % kOutputSlice;
}

// How the AVX-512 GEMVs read a thread's groups [g0, g1) as four streams: the groups cut into four
// consecutive parts, four(a, b, c, d) on a group of each at a time, then one(g) on each part's
// groups beyond the shortest part (at most three). Streams far apart get more from DRAM per core
// than one on this machine (output_avx512.cpp has the measurements).
template <class Four, class One>
void for_groups_as_four_streams(std::int64_t g0, std::int64_t g1, Four&& four, One&& one) {
  const std::int64_t n = g1 - g0, common = n / 4;
  std::int64_t start[5];
  for (int j = 0; j <= 4; ++j) start[j] = g0 + n * j / 4;
  for (std::int64_t i = 0; i < common; ++i)
    four(start[0] + i, start[1] + i, start[2] + i, start[3] + i);
  for (int j = 0; j < 4; ++j)
    for (std::int64_t g = start[j] + common; g < start[j + 1]; ++g) one(g);
}

// Q8_0 for the AVX-512 VNNI GEMV (models/output_avx512vnni.cpp): rows in groups of kQ8Group,
// columns in chunks of two Q8_0 blocks (64 columns); a group's chunks follow one another, so a run
// of groups is one sequential stream. A chunk is kQ8ChunkBytes: for each of its two blocks, 8 runs
// of 64 bytes (run k: columns 4k..4k+3 of the block, the group's row r at bytes 4r..4r+3), each
// quant stored plus 128 as an unsigned byte (vpdpbusd multiplies unsigned by signed bytes: every
// quant, -128 too, is exact); then the two blocks' scales, kQ8Group fp16 each (row r at byte 2r).
// Padding rows, and the second block of the last chunk when the block count is odd: quant 0 (stored
// 128), scale 0.
inline constexpr int kQ8Group = 16;
inline constexpr std::int64_t kQ8BlockBytes = kQ8Group * 32;  // one block's quants of a group
inline constexpr std::int64_t kQ8ChunkBytes =
    2 * kQ8BlockBytes + 2 * kQ8Group * 2;  // 1088 = 17 lines

inline std::int64_t q8_chunks(std::int64_t cols) { return (cols / 32 + 1) / 2; }
inline std::int64_t q8_interleaved_bytes(std::int64_t rows, std::int64_t cols) {
  return (rows + kQ8Group - 1) / kQ8Group * q8_chunks(cols) * kQ8ChunkBytes;
}
// Byte offsets of quant (r, c) and of the scale of row r's block b (columns 32b..32b+31).
inline std::int64_t q8_quant_offset(std::int64_t r, std::int64_t c, std::int64_t cols) {
  const std::int64_t b = c / 32, chunk = (r / kQ8Group) * q8_chunks(cols) + b / 2;
  return chunk * kQ8ChunkBytes + (b % 2) * kQ8BlockBytes + (c % 32) / 4 * 64 + (r % kQ8Group) * 4 +
         c % 4;
}
inline std::int64_t q8_scale_offset(std::int64_t r, std::int64_t b, std::int64_t cols) {
  const std::int64_t chunk = (r / kQ8Group) * q8_chunks(cols) + b / 2;
  return chunk * kQ8ChunkBytes + 2 * kQ8BlockBytes + (b % 2) * kQ8Group * 2 + (r % kQ8Group) * 2;
}

}  // namespace tritbench::models
