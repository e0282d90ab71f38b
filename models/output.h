#pragma once
// The output matrix (logits = W_out h): vocab x hidden, kernel-independent. For 2B-4T it is the tied
// F16 token embedding, 657 MB, more than the ternary weights (520 MB), so its type decides half of the
// bytes read per generated token. Selectable: F16 (as the official file), F32 (converted at load),
// Q8_0 (quantized at load: blocks of 32 int8 with an fp16 scale; the hidden state is quantized the
// same way, so logits are approximate — reported as such).

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/aligned.h"
#include "kernels/cpu/cpu.h"
#include "kernels/runtime/thread_pool.h"
#include "models/weights.h"

namespace tritbench::models {

enum class OutputType { kAsStored, kF16, kF32, kQ8_0 };
OutputType parse_output_type(const std::string& s);  // "f16", "f32", "q8_0", "auto"
const char* output_type_name(OutputType t);

class OutputMatrix {
 public:
  // Copies `w` (F32/F16/BF16/Q8_0) in the requested type; kAsStored keeps F16/F32 types as they
  // are (BF16 becomes F32, Q8_0 stays Q8_0). The copy is this object's own: the caller may
  // release the source's pages afterwards. The GEMV is the best this CPU runs up to `cap`
  // (tests and benchmarks compare the paths): AVX-512 VNNI (Q8_0), AVX-512 (F16, F32), AVX2 or
  // scalar; the layout of the copy is that path's.
  OutputMatrix(const DenseTensor& w, OutputType type, Isa cap = Isa::kAvx512Vbmi);
  // logits[r] = W[r] . h for r in [0, rows), rows split across the pool.
  void logits(const float* h, float* out, ThreadPool& pool) const;
  DType type() const { return type_; }
  Isa isa() const { return isa_; }  // of the GEMV in use
  std::int64_t rows() const { return rows_; }
  std::int64_t cols() const { return cols_; }
  std::size_t bytes() const;  // of the copy read per token (the interleaved layout's padding included)

 private:
  DType type_;
  std::int64_t rows_, cols_;
  const std::uint8_t* data_ = nullptr;  // own_.data()
  AlignedBuffer own_;  // the matrix in type_ (a copy even when the source has that type)
  // kAvx512Vnni and kAvx512: own_ in models/output_layout.h's layout of type_; else row-major.
  Isa isa_ = Isa::kScalar;
};

// The hidden state as the Q8_0 GEMVs take it: per block of 32, the fp16-rounded scale
// d = max|h| / 127 and quants round(h / d) clamped to [-127, 127]; quants zero beyond the last
// block up to a whole chunk (models/output_layout.h), and per block 128 * the sum of its quants.
struct HiddenQ8 {
  std::vector<std::int8_t> q;
  std::vector<float> d;
  std::vector<std::int32_t> sum128;
};
HiddenQ8 quantize_hidden_q8_0(const float* h, std::int64_t cols);

}  // namespace tritbench::models
