#pragma once
// TQ2_0 / TQ1_0 registry entry points and block codecs. Layout: kernels/tq/format.h.

#include <cstdint>

#include "kernels/api.h"

namespace tritbench::tq {

void tq2_pack(const TernaryMatrix& w, const TileConfig& tile, PackedWeights& out);
TernaryMatrix tq2_unpack(const PackedWeights& p);
void tq2_prepare(const QuantizedBatch& a, const PackedWeights& w, PreparedActivations& out);
void tq2_gemm_i32_scalar(const PackedWeights& w, const PreparedActivations& a, std::int64_t m0,
                         std::int64_t m1, std::int32_t* c, std::int64_t ldc);
void tq2_gemm_i32_avx2(const PackedWeights& w, const PreparedActivations& a, std::int64_t m0,
                       std::int64_t m1, std::int32_t* c, std::int64_t ldc);
void tq2_gemm_i32_avx512vnni(const PackedWeights& w, const PreparedActivations& a, std::int64_t m0,
                             std::int64_t m1, std::int32_t* c, std::int64_t ldc);

void tq1_pack(const TernaryMatrix& w, const TileConfig& tile, PackedWeights& out);
TernaryMatrix tq1_unpack(const PackedWeights& p);
void tq1_prepare(const QuantizedBatch& a, const PackedWeights& w, PreparedActivations& out);
void tq1_gemm_i32_scalar(const PackedWeights& w, const PreparedActivations& a, std::int64_t m0,
                         std::int64_t m1, std::int32_t* c, std::int64_t ldc);
void tq1_gemm_i32_avx2(const PackedWeights& w, const PreparedActivations& a, std::int64_t m0,
                       std::int64_t m1, std::int32_t* c, std::int64_t ldc);
void tq1_gemm_i32_avx512vnni(const PackedWeights& w, const PreparedActivations& a, std::int64_t m0,
                             std::int64_t m1, std::int32_t* c, std::int64_t ldc);

// One block of 256 weights (values in {-1, 0, +1}) with scale d (stored as fp16), and back.
void encode_tq2(const std::int8_t* w, float d, std::uint8_t* block);
void decode_tq2(const std::uint8_t* block, std::int8_t* w);
void encode_tq1(const std::int8_t* w, float d, std::uint8_t* block);
void decode_tq1(const std::uint8_t* block, std::int8_t* w);

// IEEE binary16 with round-to-nearest-even (portable; the scale d of both block types).
std::uint16_t float_to_half(float f);
float half_to_float(std::uint16_t h);

}  // namespace tritbench::tq
