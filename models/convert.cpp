#include "models/convert.h"

#include <chrono>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "kernels/i2s/i2s.h"
#include "models/f16.h"
#include "models/gguf.h"

namespace tritbench::models {

namespace {

// One dense tensor as `type`, streamed a slab of rows at a time.
void write_dense(const DenseTensor& d, DType type, GgufSink& sink) {
  const std::int64_t cols = d.cols;
  const std::int64_t row_bytes = type == DType::kF32    ? cols * 4
                                 : type == DType::kQ8_0 ? cols / 32 * 34
                                                        : cols * 2;
  const std::int64_t slab_rows = std::max<std::int64_t>(1, (std::int64_t{8} << 20) / row_bytes);
  std::vector<float> f(static_cast<std::size_t>(cols));
  std::vector<std::uint8_t> out(static_cast<std::size_t>(std::min(d.rows, slab_rows) * row_bytes));
  for (std::int64_t r0 = 0; r0 < d.rows; r0 += slab_rows) {
    const std::int64_t r1 = std::min(d.rows, r0 + slab_rows);
    for (std::int64_t r = r0; r < r1; ++r) {
      d.row_to_float(r, f.data());
      std::uint8_t* dst = out.data() + (r - r0) * row_bytes;
      if (type == DType::kF32) {
        std::memcpy(dst, f.data(), static_cast<std::size_t>(cols) * 4);
      } else if (type == DType::kF16) {
        for (std::int64_t k = 0; k < cols; ++k) {
          const std::uint16_t h = f32_to_f16(f[k]);
          if (std::isfinite(f[k]) && (h & 0x7c00) == 0x7c00)
            throw std::invalid_argument("tensor '" + d.name + "': element (" + std::to_string(r) +
                                        ", " + std::to_string(k) + ") = " + std::to_string(f[k]) +
                                        " does not fit F16 (|x| < 65520); use --output-type f32");
          std::memcpy(dst + 2 * k, &h, 2);
        }
      } else {
        for (std::int64_t b = 0; b < cols / 32; ++b)
          quantize_q8_0_block(f.data() + 32 * b, dst + 34 * b);
      }
    }
    sink.write(out.data(), static_cast<std::size_t>((r1 - r0) * row_bytes));
  }
}

}  // namespace

SynthResult write_bitnet_gguf(const WeightSource& src, const std::string& path,
                              const SynthOptions& opt) {
  const auto t_start = std::chrono::steady_clock::now();
  const ModelConfig& c = src.config();
  if (opt.output_type != DType::kF16 && opt.output_type != DType::kF32 &&
      opt.output_type != DType::kQ8_0)
    throw std::invalid_argument(std::string("GGUF export: output type ") +
                                dtype_name(opt.output_type) +
                                " is not supported (expected F16, F32 or Q8_0)");
  if (opt.output_type == DType::kQ8_0 && c.hidden % 32 != 0)
    throw std::invalid_argument(
        "GGUF export: Q8_0 output needs a hidden size that is a multiple "
        "of 32 (has " +
        std::to_string(c.hidden) + ")");
  const TokenizerSpec* vocab = src.tokenizer();
  if (vocab && static_cast<std::int64_t>(vocab->tokens.size()) != c.vocab)
    throw std::invalid_argument("GGUF export: the vocabulary has " +
                                std::to_string(vocab->tokens.size()) + " tokens, the model " +
                                std::to_string(c.vocab));

  GgufWriter w;
  add_bitnet_kvs(w, c, opt.name.empty() ? "tritbench " + src.describe() : opt.name, 40, vocab);
  // The layout of write_synthetic_gguf: SyntheticSource knows every name and shape of a config.
  const SyntheticSource layout(c, 0);
  const auto names = layout.tensor_names();
  std::vector<DType> types;
  for (const auto& n : names) {
    const auto [rows, cols] = layout.shape(n);
    DType t = DType::kF32;
    if (is_bitlinear_weight(n)) {
      t = DType::kI2_S;
    } else if (rows > 1) {
      t = (n == "output.weight" || c.tied) ? opt.output_type : DType::kF16;
    }
    try {
      w.add_tensor(
          n, t,
          rows == 1 ? std::vector<std::int64_t>{cols} : std::vector<std::int64_t>{cols, rows});
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument("GGUF export: tensor '" + n + "' (" + std::to_string(rows) +
                                  " x " + std::to_string(cols) + ") as " + dtype_name(t) + ": " +
                                  e.what());
    }
    types.push_back(t);
  }

  std::uint64_t written = 0;
  w.write(path, [&](std::size_t i, GgufSink& sink) {
    const std::string& n = names[i];
    const auto [rows, cols] = layout.shape(n);
    if (types[i] == DType::kI2_S) {
      const TernaryMatrix t = src.ternary(n);
      if (t.M != rows || t.K != cols)
        throw std::invalid_argument(src.describe() + ": tensor '" + n + "' is " +
                                    std::to_string(t.M) + " x " + std::to_string(t.K) +
                                    ", expected " + std::to_string(rows) + " x " +
                                    std::to_string(cols));
      const auto bytes = i2s::encode_file(t);
      sink.write(bytes.data(), bytes.size());
    } else {
      const DenseTensor d = src.dense(n);
      if (d.rows != rows || d.cols != cols)
        throw std::invalid_argument(src.describe() + ": tensor '" + n + "' is " +
                                    std::to_string(d.rows) + " x " + std::to_string(d.cols) +
                                    ", expected " + std::to_string(rows) + " x " +
                                    std::to_string(cols));
      write_dense(d, types[i], sink);
    }
    written += w.tensor_bytes(i);
    if (opt.progress) opt.progress(i + 1, names.size(), n, written);
  });
  SynthResult r;
  r.bytes = w.file_bytes();
  r.params = c.params();
  r.tensors = names.size();
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  return r;
}

}  // namespace tritbench::models
