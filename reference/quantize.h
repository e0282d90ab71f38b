#pragma once
// The quantizers of BitNet b1.58 (spec/bitnet-formats.md section 1). "Lossless" means bit-exact to
// this arithmetic, so it is implemented once, here, and every kernel consumes its output.

#include <cstdint>

#include "kernels/api.h"
#include "kernels/runtime/thread_pool.h"

namespace tritbench::reference {

// Weights, absmean: scale = max(mean|W|, 1e-5) (mean accumulated in double, then rounded to float);
// t = clamp(round_half_even(W / scale), -1, 1) with the division in float.
TernaryMatrix quantize_weights_absmean(const float* W, std::int64_t M, std::int64_t K);

// Activations, per row (token), bitnet.cpp's quantize_row_i8_s: max = max(1e-5, max|x|) in double;
// s = (float)(127 / max); q = clamp(round_half_even((float)(x * s)), -128, 127); sum = sum q.
// The scalar definition; quantize_activations() may use a SIMD twin proven identical by the tests.
void quantize_row_scalar(const float* x, std::int64_t K, std::int8_t* q, float* scale, std::int32_t* sum);

// N rows of K floats (row stride ldx) into out (reset to N x K; keeps x as out.x). With a pool
// and several rows, the rows are split over its threads (each row's bytes are the same on any).
void quantize_activations(const float* x, std::int64_t N, std::int64_t K, std::int64_t ldx,
                          QuantizedBatch& out, ThreadPool* pool = nullptr);

// Wraps already-quantized int8 rows (e.g. adversarial test data) as a batch with the given scales.
void make_batch(const std::int8_t* q, std::int64_t N, std::int64_t K, const float* scales,
                QuantizedBatch& out);

}  // namespace tritbench::reference
