// Attention of one head over a block of queries with Eigen (AVX2 + FMA): S = Q K^T * scale, causal
// softmax per row (softmax_rows: the portable loop or the AVX-512 one), O = P V. The shapes
// depend only on (n, pos0, d), never on the thread count. Used without AVX-512, and with it for
// head dimensions outside avx512_attention_dim (models/ops.h).
#include <Eigen/Core>
#include <cmath>
#include <cstdint>

#include "models/ops.h"

namespace tritbench::models {

void attention_head_avx2(const float* q, const float* k, const float* v, std::int64_t n,
                         std::int64_t pos0, std::int64_t ldq, std::int64_t ldkv, std::int64_t d,
                         float* out, std::int64_t ldo, float* scratch, SoftmaxRows softmax_rows) {
  using Mat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using CMap = Eigen::Map<const Mat, Eigen::Unaligned, Eigen::OuterStride<>>;
  using MMap = Eigen::Map<Mat, Eigen::Unaligned, Eigen::OuterStride<>>;
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  // Queries in blocks of kBlock, each against the keys its last query sees: a causal prompt of n
  // tokens computes about half of the n x ctx scores and products that the whole block would
  // (whose masked half was zeros).
  constexpr std::int64_t kBlock = 64;
  for (std::int64_t t0 = 0; t0 < n; t0 += kBlock) {
    const std::int64_t nb = n - t0 < kBlock ? n - t0 : kBlock, keys = pos0 + t0 + nb;
    CMap Q(q + t0 * ldq, nb, d, Eigen::OuterStride<>(ldq));
    CMap K(k, keys, d, Eigen::OuterStride<>(ldkv));
    CMap V(v, keys, d, Eigen::OuterStride<>(ldkv));
    MMap S(scratch, nb, keys, Eigen::OuterStride<>(keys));
    MMap O(out + t0 * ldo, nb, d, Eigen::OuterStride<>(ldo));
    S.noalias() = Q * K.transpose();
    softmax_rows(scratch, keys, nb, pos0 + t0 + 1, keys, scale);
    O.noalias() = S * V;
  }
}

}  // namespace tritbench::models
