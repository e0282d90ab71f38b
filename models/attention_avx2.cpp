// Attention of one head over a block of queries with Eigen (AVX2 + FMA): S = Q K^T * scale, causal
// softmax per row, O = P V. The shapes depend only on (n, pos0, d), never on the thread count.
#include <Eigen/Core>
#include <cmath>
#include <cstdint>

namespace tritbench::models {

void attention_head_avx2(const float* q, const float* k, const float* v, std::int64_t n,
                         std::int64_t pos0, std::int64_t ldq, std::int64_t ldkv, std::int64_t d,
                         float* out, std::int64_t ldo, float* scratch) {
  using Mat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using CMap = Eigen::Map<const Mat, Eigen::Unaligned, Eigen::OuterStride<>>;
  using MMap = Eigen::Map<Mat, Eigen::Unaligned, Eigen::OuterStride<>>;
  const std::int64_t ctx = pos0 + n;
  CMap Q(q, n, d, Eigen::OuterStride<>(ldq));
  CMap K(k, ctx, d, Eigen::OuterStride<>(ldkv));
  CMap V(v, ctx, d, Eigen::OuterStride<>(ldkv));
  MMap S(scratch, n, ctx, Eigen::OuterStride<>(ctx));
  MMap O(out, n, d, Eigen::OuterStride<>(ldo));
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  S.noalias() = Q * K.transpose();
  for (std::int64_t t = 0; t < n; ++t) {
    const std::int64_t len = pos0 + t + 1;
    float* s = scratch + t * ctx;
    float mx = -INFINITY;
    for (std::int64_t j = 0; j < len; ++j) {
      s[j] *= scale;
      mx = s[j] > mx ? s[j] : mx;
    }
    float sum = 0;
    for (std::int64_t j = 0; j < len; ++j) {
      s[j] = std::exp(s[j] - mx);
      sum += s[j];
    }
    const float inv = 1.0f / sum;
    for (std::int64_t j = 0; j < len; ++j) s[j] *= inv;
    for (std::int64_t j = len; j < ctx; ++j) s[j] = 0;  // causal mask
  }
  O.noalias() = S * V;
}

}  // namespace tritbench::models
