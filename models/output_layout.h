#pragma once
// The interleaved layout of the output matrix read by the AVX-512 GEMV (models/output_avx512.cpp):
// rows in groups of kOutputGroup, columns in slices of kOutputSlice; group g holds, for each slice
// s, the slice s of its rows one after another. Padding rows and columns are zero.
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

}  // namespace tritbench::models
