#include "models/output.h"

#include <cmath>
#include <cstring>
#include <stdexcept>

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
// output_avx512vnni.cpp (groups [g0, g1) of kQ8Group rows, models/output_layout.h)
void out_groups_q8_0_avx512vnni(const std::uint8_t* w, std::int64_t cols, const std::int8_t* hq,
                                const float* hd, const std::int32_t* hs, std::int64_t rows,
                                std::int64_t g0, std::int64_t g1, float* out);

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
// One row of Q8_0 blocks (34 bytes each: fp16 scale, 32 quants), quantized like the hidden state.
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

bool usable(Isa isa, Isa cap) {
  return static_cast<int>(isa) <= static_cast<int>(cap) && isa_runnable(isa);
}
}  // namespace

HiddenQ8 quantize_hidden_q8_0(const float* h, std::int64_t cols) {
  const std::int64_t nb = cols / 32, padded = 2 * q8_chunks(cols);
  std::vector<std::uint8_t> blocks(static_cast<std::size_t>(nb * 34));
  quantize_q8_0_row(h, cols, blocks.data());
  HiddenQ8 out;
  out.q.assign(static_cast<std::size_t>(padded * 32), 0);
  out.d.assign(static_cast<std::size_t>(padded), 0.0f);
  out.sum128.assign(static_cast<std::size_t>(padded), 0);
  for (std::int64_t b = 0; b < nb; ++b) {
    std::uint16_t dh;
    std::memcpy(&dh, blocks.data() + b * 34, 2);
    out.d[b] = f16_to_f32(dh);
    std::memcpy(out.q.data() + b * 32, blocks.data() + b * 34 + 2, 32);
    std::int32_t s = 0;
    for (int i = 0; i < 32; ++i) s += out.q[b * 32 + i];
    out.sum128[b] = 128 * s;
  }
  return out;
}

OutputMatrix::OutputMatrix(const DenseTensor& w, OutputType type, Isa cap)
    : rows_(w.rows), cols_(w.cols) {
  DType want = w.type;
  if (type == OutputType::kF16) want = DType::kF16;
  if (type == OutputType::kF32) want = DType::kF32;
  if (type == OutputType::kQ8_0) want = DType::kQ8_0;
  if (want == DType::kBF16) want = DType::kF32;
  if (want == DType::kQ8_0 && cols_ % 32 != 0)
    throw std::invalid_argument(w.name + ": Q8_0 output matrix needs hidden size divisible by 32 (got " +
                                std::to_string(cols_) + ")");
  type_ = want;
  const bool q8 = want == DType::kQ8_0;
  const Isa wide = q8 ? Isa::kAvx512Vnni : Isa::kAvx512;
  isa_ = usable(wide, cap) ? wide : usable(Isa::kAvx2, cap) ? Isa::kAvx2 : Isa::kScalar;
  DenseTensor out;
  out.type = want;
  out.cols = cols_;
  // Always an own copy, even of a matrix used as stored: 64-byte aligned, on transparent huge
  // pages (kernels/aligned.h) instead of the file mapping's 4 KiB pages, and for the AVX-512
  // GEMVs in the interleaved layouts they stream best (models/output_layout.h).
  const std::int64_t elem = want == DType::kF16 ? 2 : 4;
  if (isa_ == Isa::kAvx512Vnni) {
    own_.resize(static_cast<std::size_t>(q8_interleaved_bytes(rows_, cols_)));
    std::memset(own_.data(), 0x80, own_.size());  // padding quants: 0, stored plus 128
    for (std::size_t c = 0; c < own_.size(); c += kQ8ChunkBytes)  // padding scales: 0
      std::memset(own_.data() + c + 2 * kQ8BlockBytes, 0, 2 * kQ8Group * 2);
  } else if (isa_ == Isa::kAvx512) {
    own_.resize(static_cast<std::size_t>(output_interleaved_bytes(rows_, cols_, elem)));
    std::memset(own_.data(), 0, own_.size());  // the padding
  } else {
    own_.resize(out.row_bytes() * static_cast<std::size_t>(rows_));
  }
  data_ = own_.data();
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
    if (isa_ == Isa::kAvx512Vnni) {
      for (std::int64_t b = 0; b < cols_ / 32; ++b) {
        std::memcpy(own_.data() + q8_scale_offset(r, b, cols_), src + 34 * b, 2);
        std::uint8_t* q = own_.data() + q8_quant_offset(r, 32 * b, cols_);
        for (int k = 0; k < 8; ++k) {  // 4 quants at a time, each plus 128
          std::uint32_t four;
          std::memcpy(&four, src + 34 * b + 2 + 4 * k, 4);
          four ^= 0x80808080u;
          std::memcpy(q + 64 * k, &four, 4);
        }
      }
    } else if (isa_ == Isa::kAvx512) {
      for (std::int64_t c = 0; c < cols_; c += kOutputSlice) {
        const std::int64_t n = std::min(kOutputSlice, cols_ - c);
        std::memcpy(own_.data() + output_interleaved_index(r, c, cols_) * elem, src + c * elem,
                    static_cast<std::size_t>(n * elem));
      }
    } else {
      std::memcpy(own_.data() + out.row_bytes() * static_cast<std::size_t>(r), src,
                  out.row_bytes());
    }
  }
}

std::size_t OutputMatrix::bytes() const { return own_.size(); }

void OutputMatrix::logits(const float* h, float* out, ThreadPool& pool) const {
  HiddenQ8 hq;
  if (type_ == DType::kQ8_0) hq = quantize_hidden_q8_0(h, cols_);
  // Row groups in units of 4 (Q8_0) or 16 groups, cut by the pool's measured thread speeds (each
  // group's logits are the same whichever thread computes them).
  if (isa_ == Isa::kAvx512Vnni) {
    const std::int64_t groups = (rows_ + kQ8Group - 1) / kQ8Group;
    pool.run_balanced((groups + 3) / 4, [&](int, std::int64_t u0, std::int64_t u1) {
      out_groups_q8_0_avx512vnni(data_, cols_, hq.q.data(), hq.d.data(), hq.sum128.data(), rows_,
                                 u0 * 4, std::min(groups, u1 * 4), out);
    });
    return;
  }
  if (isa_ == Isa::kAvx512) {
    const std::int64_t groups = (rows_ + kOutputGroup - 1) / kOutputGroup;
    pool.run_balanced((groups + 15) / 16, [&](int, std::int64_t u0, std::int64_t u1) {
      const std::int64_t g0 = u0 * 16, g1 = std::min(groups, u1 * 16);
      if (type_ == DType::kF16) return out_groups_f16_avx512(data_, cols_, h, rows_, g0, g1, out);
      out_groups_f32_avx512(data_, cols_, h, rows_, g0, g1, out);
    });
    return;
  }
  DenseTensor view;
  view.type = type_;
  view.cols = cols_;
  view.rows = rows_;
  view.data = data_;
  const std::size_t rb = view.row_bytes();
  pool.run_balanced((rows_ + 63) / 64, [&](int, std::int64_t u0, std::int64_t u1) {
    const std::int64_t r0 = u0 * 64, r1 = std::min(rows_, u1 * 64);
    if (isa_ == Isa::kAvx2) {
      if (type_ == DType::kF16) return out_rows_f16_avx2(data_, cols_, h, r0, r1, out);
      if (type_ == DType::kF32) return out_rows_f32_avx2(data_, cols_, h, r0, r1, out);
      return out_rows_q8_0_avx2(data_, cols_, hq.q.data(), hq.d.data(), r0, r1, out);
    }
    std::vector<float> row(static_cast<std::size_t>(cols_));
    for (std::int64_t r = r0; r < r1; ++r) {
      if (type_ == DType::kQ8_0) {
        // As the VNNI loop: per block the exact integer dot product, then one fma.
        const std::uint8_t* p = data_ + rb * static_cast<std::size_t>(r);
        float acc = 0;
        for (std::int64_t b = 0; b < cols_ / 32; ++b) {
          std::uint16_t dh;
          std::memcpy(&dh, p + 34 * b, 2);
          std::int32_t s = 0;
          for (int i = 0; i < 32; ++i)
            s += static_cast<std::int8_t>(p[34 * b + 2 + i]) * hq.q[b * 32 + i];
          acc = std::fma(static_cast<float>(s), f16_to_f32(dh) * hq.d[b], acc);
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
