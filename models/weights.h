#pragma once
// Where model weights come from. Every loader (GGUF file, HF safetensors, the synthetic generator)
// is a WeightSource: it hands out each BitLinear weight in the canonical ternary form and every other
// tensor as a typed dense view, by GGUF tensor name. Consumers (the fast forward pass, the reference
// forward pass, the GGUF writer) ask for one tensor at a time, so a model never has to exist in
// memory in canonical form all at once: the transformer packs each ternary tensor as it arrives and
// drops it, and `tritbench synth` streams a 100B model to disk.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "kernels/api.h"
#include "models/config.h"
#include "models/tokenizer_spec.h"

namespace tritbench::models {

// GGUF tensor type ids (ggml_type); bitnet.cpp's ids as spec/bitnet-formats.md section 2 lists them.
enum class DType : std::uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ8_0 = 8,
  kBF16 = 30,
  kTQ1_0 = 34,
  kTQ2_0 = 35,
  kI2_S = 36,
  kI8_S = 37,
  kTL1 = 38,
  kTL2 = 39,
};
const char* dtype_name(DType t);

// A dense (non-ternary) tensor: rows x cols, row-major, of F32, F16, BF16 or Q8_0 (blocks of 32:
// fp16 scale + 32 int8). `data` points into a mapped file or into `keep`'s storage.
struct DenseTensor {
  std::string name;
  DType type = DType::kF32;
  std::int64_t rows = 0, cols = 0;
  const std::uint8_t* data = nullptr;
  std::shared_ptr<const void> keep;  // owns or pins the bytes

  std::size_t row_bytes() const;
  void row_to_float(std::int64_t r, float* out) const;  // dequantize one row
  std::vector<float> to_float() const;  // all rows (for small tensors: norms)
};

// GGUF names: "token_embd.weight", "output_norm.weight", "output.weight", "blk.N.<what>.weight".
std::string layer_tensor(std::int64_t layer, const char* what);
inline constexpr const char* kTernaryTensors[] = {"attn_q", "attn_k", "attn_v", "attn_output",
                                                   "ffn_gate", "ffn_up", "ffn_down"};
inline constexpr const char* kNormTensors[] = {"attn_norm", "attn_sub_norm", "ffn_norm", "ffn_sub_norm"};
// True for "blk.N.<one of kTernaryTensors>.weight".
bool is_bitlinear_weight(const std::string& name);

class WeightSource {
 public:
  virtual ~WeightSource() = default;
  virtual const ModelConfig& config() const = 0;
  // A BitLinear weight (M = out features, K = in features), decoded to the canonical form.
  virtual TernaryMatrix ternary(const std::string& name) const = 0;
  // The same into `out`, reusing its storage where the source can (a model's loader keeps one
  // buffer per thread: fresh buffers of hundreds of MB each cost more in page faults than the
  // weights take to generate). Safe to call from several threads at once, as ternary() is.
  virtual void ternary_into(const std::string& name, TernaryMatrix& out) const {
    out = ternary(name);
  }
  // Any other tensor (norm vectors are rows = 1).
  virtual DenseTensor dense(const std::string& name) const = 0;
  virtual bool has(const std::string& name) const = 0;
  // Row lookups into a dense matrix (the token embedding: one row per token): a function writing
  // row r as floats, exactly dense(name).row_to_float(r). It may outlive the source. The default
  // keeps dense(name) (a view of the mapped file for file sources); the synthetic source computes
  // each row from its seed instead, so a model does not hold a second copy of its embedding
  // (2.1 GB for the 70B and 100B sizes, whose tied output matrix is already a copy of it).
  using RowReader = std::function<void(std::int64_t row, float* out)>;
  virtual RowReader row_reader(const std::string& name) const {
    auto t = std::make_shared<const DenseTensor>(dense(name));
    return [t](std::int64_t r, float* out) { t->row_to_float(r, out); };
  }
  // The caller will not read tensor `name` again soon (it was packed or copied): a file-backed
  // source may drop its pages from the resident set (they are re-read on access). Never changes
  // what a later call returns.
  virtual void release(const std::string& name) const { (void)name; }
  // The vocabulary, if the source has one.
  virtual const TokenizerSpec* tokenizer() const { return nullptr; }
  // "file.gguf", "synthetic:2b4t:seed=1", ... for result rows.
  virtual std::string describe() const = 0;
};

// Deterministic synthetic weights for any preset: ternary tensors with about a third zeros and an
// absmean-like per-tensor scale, norms near 1, F16 embedding (and output matrix when untied). Every
// tensor depends only on (seed, tensor name), so it can be produced in any order, one at a time.
class SyntheticSource : public WeightSource {
 public:
  SyntheticSource(ModelConfig cfg, std::uint64_t seed);
  const ModelConfig& config() const override { return cfg_; }
  TernaryMatrix ternary(const std::string& name) const override;
  void ternary_into(const std::string& name, TernaryMatrix& out) const override;
  DenseTensor dense(const std::string& name) const override;
  RowReader row_reader(const std::string& name) const override;
  bool has(const std::string& name) const override;
  const TokenizerSpec* tokenizer() const override { return vocab_.tokens.empty() ? nullptr : &vocab_; }
  std::string describe() const override;
  // Attach a vocabulary (e.g. models::synthetic_gpt2_vocab(cfg.vocab)); optional.
  void set_tokenizer(TokenizerSpec spec) { vocab_ = std::move(spec); }

  // The shape of a named tensor: {rows, cols}; throws std::invalid_argument for unknown names.
  std::pair<std::int64_t, std::int64_t> shape(const std::string& name) const;
  // Every tensor name of the model, in the GGUF file order bitnet.cpp's converter uses.
  std::vector<std::string> tensor_names() const;

  // Pieces of a tensor, for writers of models too large to hold at once (`tritbench synth` of
  // 100B keeps a few slabs in memory, generated in parallel). Each tensor is one random stream
  // that can be entered at any draw (Rng::discard), so the pieces are exactly the whole-tensor
  // values, which are built from them:
  //   ternary_range: elements [i0, i1) of ternary(name).w; i0 a multiple of kTritsPerDraw;
  //   ternary_scale: ternary(name).scale;
  //   matrix_f16_range: elements [i0, i1) of dense(name)'s F16 matrix (embedding / output; not
  //   norms); i0 a multiple of kF16PerDraw.
  static constexpr std::int64_t kTritsPerDraw = 40, kF16PerDraw = 4;
  void ternary_range(const std::string& name, std::int64_t i0, std::int64_t i1, std::int8_t* out) const;
  float ternary_scale(const std::string& name) const;
  void matrix_f16_range(const std::string& name, std::int64_t i0, std::int64_t i1,
                        std::uint16_t* out) const;

 private:
  ModelConfig cfg_;
  std::uint64_t seed_;
  TokenizerSpec vocab_;
};

}  // namespace tritbench::models
