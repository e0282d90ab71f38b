#pragma once
// A BitNet b1.58 model from a GGUF file (bitnet.cpp's layout, spec/bitnet-formats.md sections 2,
// 5).
//
// Opening checks everything that can be checked without reading the weights: the architecture
// ("bitnet-b1.58": ReLU^2 FFN; "bitnet": SiLU; anything else is refused by name), the
// hyperparameters (present, positive, consistent: hidden = heads * head_dim, heads a multiple of
// kv heads, rope dimension = head_dim), every expected tensor present with the right shape and a
// usable type, every I2_S scale finite and positive, norms finite, and the vocabulary consistent
// with the embedding. Weights are then read lazily, one tensor per call:
//
//   ternary(name)  I2_S: decoded from the mapped bytes (i2s::decode_file; a code 3 is refused);
//                  F32/F16/BF16: quantized with reference::quantize_weights_absmean (the file holds
//                  master weights). TL1/TL2 are refused at open: bitnet.cpp generates those layouts
//                  per model shape, so convert such files to I2_S. TQ1_0/TQ2_0 are refused too:
//                  they carry a scale per 256 weights, which the canonical form (one scale per
//                  tensor) cannot represent without loss.
//   dense(name)    a view into the mapping (F32, F16, BF16, Q8_0) that keeps the mapping alive.
//
// Non-finite values in dense matrices (embedding, output) are not scanned at open (that would read
// the whole file); they propagate into the logits as IEEE arithmetic defines.

#include <memory>
#include <string>

#include "models/gguf.h"
#include "models/weights.h"

namespace tritbench::models {

class GgufSource : public WeightSource {
 public:
  // Throws GgufError naming the file and the field.
  explicit GgufSource(const std::string& path);
  // From an already parsed file (e.g. GgufFile::parse of bytes in memory).
  explicit GgufSource(std::shared_ptr<const GgufFile> file);

  const ModelConfig& config() const override { return cfg_; }
  TernaryMatrix ternary(const std::string& name) const override;
  DenseTensor dense(const std::string& name) const override;
  bool has(const std::string& name) const override;
  void release(const std::string& name) const override;
  const TokenizerSpec* tokenizer() const override {
    return vocab_.tokens.empty() ? nullptr : &vocab_;
  }
  std::string describe() const override { return file_->path(); }

  // The raw file: KVs (general.name, file_type, ...) and tensor infos, for tools.
  const GgufFile& file() const { return *file_; }
  // Every tensor name the model uses, in file order of the official converter.
  std::vector<std::string> tensor_names() const;

 private:
  void load();
  const GgufTensorInfo& info(const std::string& name) const;

  std::shared_ptr<const GgufFile> file_;
  ModelConfig cfg_;
  TokenizerSpec vocab_;
};

}  // namespace tritbench::models
