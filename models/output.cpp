#include "models/output.h"

#include <cmath>
#include <cstring>
#include <stdexcept>

#include "kernels/cpu/cpu.h"
#include "models/f16.h"
#include "models/output_layout.h"

namespace tritbench::models {

// output_avx2.cpp
void out_rows_f16_avx2(const std::uint8_t* w, std::int64_t cols, const float* h, std::int64_t r0,
                       std::int64_t r1, float* out);
void out_rows_f32_avx2(const std::uint8_t* w, std::int64_t cols, const float* h, std::int64_t r0,
                       std::int64_t r1, float* out);
// output_avx512.cpp (groups [g0, g1) of the interleaved layout, models/output_layout.h)
void out_groups_f16_avx512(const std::uint8_t* w, std::int64_t cols, const float* h, std::int64_t rows,
                           std::int64_t g0, std::int64_t g1, float* out);
void out_groups_f32_avx512(const std::uint8_t* w, std::int64_t cols, const float* h, std::int64_t rows,
                           std::int64_t g0, std::int64_t g1, float* out);
void out_rows_q8_0_avx2(const std::uint8_t* w, std::int64_t cols, const std::int8_t* hq, const float* hd,
                        std::int64_t r0, std::int64_t r1, float* out);

OutputType parse_output_type(const std::string& s) {
  if (s == "auto" || s.empty()) return OutputType::kAsStored;
  if (s == "f16") return OutputType::kF16;
  if (s == "f32") return OutputType::kF32;
  if (s == "q8_0") return OutputType::kQ8_0;
  throw std::invalid_argument("output type '" + s + "' is not one of auto, f16, f32, q8_0");
}

const char* output_type_name(OutputType t) {
  switch (t) {
    case OutputType::kAsStored: return "auto";
    case OutputType::kF16: return "F16";
    case OutputType::kF32: return "F32";
    case OutputType::kQ8_0: return "Q8_0";
  }
  return "?";
}

namespace {
void quantize_q8_0_row(const float* x, std::int64_t n, std::uint8_t* dst) {
  for (std::int64_t b = 0; b < n / 32; ++b) {
    float amax = 0;
    for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(x[b * 32 + i]));
    const std::uint16_t dh = f32_to_f16(amax / 127.0f);
    const float d = f16_to_f32(dh);
    const float id = d > 0 ? 1.0f / d : 0.0f;
    std::memcpy(dst + b * 34, &dh, 2);
    for (int i = 0; i < 32; ++i)
      dst[b * 34 + 2 + i] = static_cast<std::uint8_t>(static_cast<std::int8_t>(
          std::max(-127.0f, std::min(127.0f, std::nearbyint(x[b * 32 + i] * id)))));
  }
}
}  // namespace

OutputMatrix::OutputMatrix(const DenseTensor& w, OutputType type) : rows_(w.rows), cols_(w.cols) {
  DType want = w.type;
  if (type == OutputType::kF16) want = DType::kF16;
  if (type == OutputType::kF32) want = DType::kF32;
  if (type == OutputType::kQ8_0) want = DType::kQ8_0;
  if (want == DType::kBF16) want = DType::kF32;
  if (want == DType::kQ8_0 && cols_ % 32 != 0)
    throw std::invalid_argument(w.name + ": Q8_0 output matrix needs hidden size divisible by 32 (got " +
                                std::to_string(cols_) + ")");
  type_ = want;
  DenseTensor out;
  out.type = want;
  out.cols = cols_;
  // Always an own copy, even of an F16/F32 matrix used as stored: 64-byte aligned, on transparent
  // huge pages (kernels/aligned.h) instead of the file mapping's 4 KiB pages, and for the AVX-512
  // GEMV in the interleaved layout it streams best (models/output_layout.h).
  interleaved_ = want != DType::kQ8_0 && isa_runnable(Isa::kAvx512);
  const std::int64_t elem = want == DType::kF16 ? 2 : 4;
  own_.resize(interleaved_ ? static_cast<std::size_t>(output_interleaved_bytes(rows_, cols_, elem))
                           : out.row_bytes() * static_cast<std::size_t>(rows_));
  data_ = own_.data();
  if (interleaved_) std::memset(own_.data(), 0, own_.size());  // the padding
  std::vector<float> row(static_cast<std::size_t>(cols_));
  std::vector<std::uint8_t> conv(out.row_bytes());
  for (std::int64_t r = 0; r < rows_; ++r) {
    // Row r in the wanted type: the source bytes themselves when the type is unchanged.
    const std::uint8_t* src = w.data + w.row_bytes() * static_cast<std::size_t>(r);
    if (want != w.type) {
      w.row_to_float(r, row.data());
      if (want == DType::kF32) {
        std::memcpy(conv.data(), row.data(), row.size() * 4);
      } else if (want == DType::kF16) {
        for (std::int64_t i = 0; i < cols_; ++i) {
          const std::uint16_t h = f32_to_f16(row[i]);
          std::memcpy(conv.data() + 2 * i, &h, 2);
        }
      } else {
        quantize_q8_0_row(row.data(), cols_, conv.data());
      }
      src = conv.data();
    }
    if (!interleaved_) {
      std::memcpy(own_.data() + out.row_bytes() * static_cast<std::size_t>(r), src, out.row_bytes());
      continue;
    }
    for (std::int64_t c = 0; c < cols_; c += kOutputSlice) {
      const std::int64_t n = std::min(kOutputSlice, cols_ - c);
      std::memcpy(own_.data() + output_interleaved_index(r, c, cols_) * elem, src + c * elem,
                  static_cast<std::size_t>(n * elem));
    }
  }
}

std::size_t OutputMatrix::bytes() const { return own_.size(); }

void OutputMatrix::logits(const float* h, float* out, ThreadPool& pool) const {
  static const bool avx2 = isa_runnable(Isa::kAvx2);
  std::vector<std::int8_t> hq;
  std::vector<float> hd;
  if (type_ == DType::kQ8_0) {  // the hidden state in Q8_0 blocks
    std::vector<std::uint8_t> tmp(static_cast<std::size_t>(cols_ / 32 * 34));
    quantize_q8_0_row(h, cols_, tmp.data());
    hq.resize(static_cast<std::size_t>(cols_));
    hd.resize(static_cast<std::size_t>(cols_ / 32));
    for (std::int64_t b = 0; b < cols_ / 32; ++b) {
      std::uint16_t dh;
      std::memcpy(&dh, tmp.data() + b * 34, 2);
      hd[b] = f16_to_f32(dh);
      std::memcpy(hq.data() + b * 32, tmp.data() + b * 34 + 2, 32);
    }
  }
  DenseTensor view;
  view.type = type_;
  view.cols = cols_;
  view.rows = rows_;
  view.data = data_;
  const std::size_t rb = view.row_bytes();
  if (interleaved_) {
    const auto g = split_rows((rows_ + kOutputGroup - 1) / kOutputGroup, pool.size(), 16);
    pool.run([&](int t) {
      if (type_ == DType::kF16) return out_groups_f16_avx512(data_, cols_, h, rows_, g[t], g[t + 1], out);
      out_groups_f32_avx512(data_, cols_, h, rows_, g[t], g[t + 1], out);
    });
    return;
  }
  const auto bounds = split_rows(rows_, pool.size(), 64);
  pool.run([&](int t) {
    const std::int64_t r0 = bounds[t], r1 = bounds[t + 1];
    if (avx2) {
      if (type_ == DType::kF16) return out_rows_f16_avx2(data_, cols_, h, r0, r1, out);
      if (type_ == DType::kF32) return out_rows_f32_avx2(data_, cols_, h, r0, r1, out);
      return out_rows_q8_0_avx2(data_, cols_, hq.data(), hd.data(), r0, r1, out);
    }
    std::vector<float> row(static_cast<std::size_t>(cols_));
    for (std::int64_t r = r0; r < r1; ++r) {
      if (type_ == DType::kQ8_0) {
        const std::uint8_t* p = data_ + rb * static_cast<std::size_t>(r);
        float acc = 0;
        for (std::int64_t b = 0; b < cols_ / 32; ++b) {
          std::uint16_t dh;
          std::memcpy(&dh, p + 34 * b, 2);
          std::int32_t s = 0;
          for (int i = 0; i < 32; ++i) s += static_cast<std::int8_t>(p[34 * b + 2 + i]) * hq[b * 32 + i];
          acc += static_cast<float>(s) * (f16_to_f32(dh) * hd[b]);
        }
        out[r] = acc;
        continue;
      }
      view.row_to_float(r, row.data());
      float acc = 0;
      for (std::int64_t i = 0; i < cols_; ++i) acc += row[i] * h[i];
      out[r] = acc;
    }
  });
}

}  // namespace tritbench::models
