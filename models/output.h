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
  // release the source's pages afterwards.
  OutputMatrix(const DenseTensor& w, OutputType type);
  // logits[r] = W[r] . h for r in [0, rows), rows split across the pool.
  void logits(const float* h, float* out, ThreadPool& pool) const;
  DType type() const { return type_; }
  std::int64_t rows() const { return rows_; }
  std::int64_t cols() const { return cols_; }
  std::size_t bytes() const;  // of the copy read per token (the interleaved layout's padding included)

 private:
  DType type_;
  std::int64_t rows_, cols_;
  const std::uint8_t* data_ = nullptr;  // own_.data()
  AlignedBuffer own_;  // the matrix in type_ (a copy even when the source has that type)
  bool interleaved_ = false;  // own_ in models/output_layout.h's layout (AVX-512 GEMV), else row-major
};

}  // namespace tritbench::models
