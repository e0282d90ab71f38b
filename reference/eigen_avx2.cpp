// Eigen kernels. Built with the AVX2 flags (file suffix) so the float baseline is a fair dense GEMM;
// this is the only translation unit that instantiates Eigen's int32/float GEMM.
#include <Eigen/Core>
#include <algorithm>
#include <stdexcept>

#include "reference/kernels.h"

namespace tritbench::reference {

namespace {
template <class T>
using RowMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using MapC = Eigen::Map<const RowMat<T>, Eigen::Unaligned, Eigen::OuterStride<>>;
template <class T>
using MapM = Eigen::Map<RowMat<T>, Eigen::Unaligned, Eigen::OuterStride<>>;

template <class T>
void pack_as(const TernaryMatrix& w, T mul, PackedWeights& out) {
  out.M = out.Mp = w.M;
  out.K = out.Kp = w.K;
  out.ld = w.K;
  out.scale = w.scale;
  out.data.resize(static_cast<std::size_t>(w.M * w.K) * sizeof(T));
  T* d = out.data.as<T>();
  for (std::int64_t i = 0; i < w.M * w.K; ++i) d[i] = static_cast<T>(w.w[i]) * mul;
}

template <class T>
TernaryMatrix unpack_as(const PackedWeights& p, T mul) {
  TernaryMatrix t;
  t.M = p.M;
  t.K = p.K;
  t.scale = p.scale;
  t.w.resize(static_cast<std::size_t>(p.M * p.K));
  const T* d = p.data.as<T>();
  for (std::int64_t i = 0; i < p.M * p.K; ++i) t.w[i] = static_cast<std::int8_t>(d[i] / mul);
  return t;
}
}  // namespace

void eigen_i32_pack(const TernaryMatrix& w, const TileConfig&, PackedWeights& out) {
  pack_as<std::int32_t>(w, 1, out);
}
TernaryMatrix eigen_i32_unpack(const PackedWeights& p) { return unpack_as<std::int32_t>(p, 1); }

void eigen_i32_prepare(const QuantizedBatch& a, const PackedWeights&, PreparedActivations& out) {
  out.ld_buf = a.K;
  const std::size_t bytes = static_cast<std::size_t>(a.N * a.K) * sizeof(std::int32_t);
  if (out.buf.size() != bytes) out.buf.resize(bytes);
  std::int32_t* d = out.buf.as<std::int32_t>();
  for (std::int64_t n = 0; n < a.N; ++n)
    for (std::int64_t k = 0; k < a.K; ++k) d[n * a.K + k] = a.row(n)[k];
}

void eigen_i32_gemm(const PackedWeights& w, const PreparedActivations& a, std::int64_t m0,
                    std::int64_t m1, std::int32_t* c, std::int64_t ldc) {
  MapC<std::int32_t> W(w.data.as<std::int32_t>() + m0 * w.K, m1 - m0, w.K, Eigen::OuterStride<>(w.K));
  MapC<std::int32_t> A(a.buf.as<std::int32_t>(), a.N, w.K, Eigen::OuterStride<>(a.ld_buf));
  MapM<std::int32_t> C(c + m0, a.N, m1 - m0, Eigen::OuterStride<>(ldc));
  C.noalias() = A * W.transpose();
}

void eigen_f32_pack(const TernaryMatrix& w, const TileConfig&, PackedWeights& out) {
  pack_as<float>(w, w.scale, out);
}
TernaryMatrix eigen_f32_unpack(const PackedWeights& p) { return unpack_as<float>(p, p.scale); }

void eigen_f32_prepare(const QuantizedBatch& a, const PackedWeights&, PreparedActivations& out) {
  out.ld_buf = a.K;
  const std::size_t bytes = static_cast<std::size_t>(a.N * a.K) * sizeof(float);
  if (out.buf.size() != bytes) out.buf.resize(bytes);
  float* d = out.buf.as<float>();
  for (std::int64_t n = 0; n < a.N; ++n)
    for (std::int64_t k = 0; k < a.K; ++k)
      // Without float rows (a batch built from int8 data) the dequantized activations stand in.
      d[n * a.K + k] = a.x ? a.x[n * a.ldx + k] : static_cast<float>(a.row(n)[k]) / a.scale[n];
}

void eigen_f32_gemm(const PackedWeights& w, const PreparedActivations& a, std::int64_t m0,
                    std::int64_t m1, float* y, std::int64_t ldy) {
  // Eigen's blocking (and so the float summation order) depends on the product's shape. Computing
  // fixed chunks of kEigenRows rows (the row's row_multiple, so thread splits fall on chunk
  // boundaries) makes every output independent of how the rows were split across threads.
  MapC<float> A(a.buf.as<float>(), a.N, w.K, Eigen::OuterStride<>(a.ld_buf));
  for (std::int64_t m = m0; m < m1; m += kEigenRows) {
    const std::int64_t rows = std::min(kEigenRows, m1 - m);
    MapC<float> W(w.data.as<float>() + m * w.K, rows, w.K, Eigen::OuterStride<>(w.K));
    MapM<float> Y(y + m, a.N, rows, Eigen::OuterStride<>(ldy));
    Y.noalias() = A * W.transpose();
  }
}

}  // namespace tritbench::reference
