#include "models/output.h"

#include <cmath>
#include <cstring>
#include <stdexcept>

#include "kernels/cpu/cpu.h"
#include "models/f16.h"

namespace tritbench::models {

// output_avx2.cpp
void out_rows_f16_avx2(const std::uint8_t* w, std::int64_t cols, const float* h, std::int64_t r0,
                       std::int64_t r1, float* out);
void out_rows_f32_avx2(const std::uint8_t* w, std::int64_t cols, const float* h, std::int64_t r0,
                       std::int64_t r1, float* out);
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
  if (want == w.type) {
    data_ = w.data;
    keep_ = w.keep;
    return;
  }
  DenseTensor out;
  out.type = want;
  out.cols = cols_;
  own_.resize(out.row_bytes() * static_cast<std::size_t>(rows_));
  std::vector<float> row(static_cast<std::size_t>(cols_));
  for (std::int64_t r = 0; r < rows_; ++r) {
    w.row_to_float(r, row.data());
    std::uint8_t* dst = own_.data() + out.row_bytes() * static_cast<std::size_t>(r);
    if (want == DType::kF32) {
      std::memcpy(dst, row.data(), row.size() * 4);
    } else if (want == DType::kF16) {
      for (std::int64_t i = 0; i < cols_; ++i) {
        const std::uint16_t h = f32_to_f16(row[i]);
        std::memcpy(dst + 2 * i, &h, 2);
      }
    } else {
      quantize_q8_0_row(row.data(), cols_, dst);
    }
  }
  data_ = own_.data();
}

std::size_t OutputMatrix::bytes() const {
  DenseTensor d;
  d.type = type_;
  d.cols = cols_;
  return d.row_bytes() * static_cast<std::size_t>(rows_);
}

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
