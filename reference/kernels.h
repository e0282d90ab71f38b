#pragma once
// The oracle kernels, registered like any other (kernels/registry.cpp):
//   naive   scalar triple loop over canonical int8 weights: the oracle every exact kernel must match.
//   eigen   Eigen int32 GEMM (exact) and float32 GEMM on dequantized weights and the float
//           activations (the full-precision baseline; approximate by the activation quantization).

#include "kernels/api.h"

namespace tritbench::reference {

inline constexpr std::int64_t kEigenRows = 64;  // row_multiple of the Eigen rows (see eigen_f32_gemm)

void naive_pack(const TernaryMatrix& w, const TileConfig& tile, PackedWeights& out);
TernaryMatrix naive_unpack(const PackedWeights& p);
void naive_prepare(const QuantizedBatch& a, const PackedWeights& w, PreparedActivations& out);
void naive_gemm(const PackedWeights& w, const PreparedActivations& a, std::int64_t m0, std::int64_t m1,
                std::int32_t* c, std::int64_t ldc);

void eigen_i32_pack(const TernaryMatrix& w, const TileConfig& tile, PackedWeights& out);
TernaryMatrix eigen_i32_unpack(const PackedWeights& p);
void eigen_i32_prepare(const QuantizedBatch& a, const PackedWeights& w, PreparedActivations& out);
void eigen_i32_gemm(const PackedWeights& w, const PreparedActivations& a, std::int64_t m0,
                    std::int64_t m1, std::int32_t* c, std::int64_t ldc);

void eigen_f32_pack(const TernaryMatrix& w, const TileConfig& tile, PackedWeights& out);
TernaryMatrix eigen_f32_unpack(const PackedWeights& p);
void eigen_f32_prepare(const QuantizedBatch& a, const PackedWeights& w, PreparedActivations& out);
void eigen_f32_gemm(const PackedWeights& w, const PreparedActivations& a, std::int64_t m0,
                    std::int64_t m1, float* y, std::int64_t ldy);

}  // namespace tritbench::reference
