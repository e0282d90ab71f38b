#pragma once
// An independent, plain forward pass of the BitNet b1.58 models, written from the architecture in
// spec/bitnet-formats.md section 5 and sharing nothing with models/transformer but the weight source
// and the quantizers: double precision everywhere except the W1.58A8 BitLinear arithmetic itself
// (activations quantized by the shared quantizer, integer dot products, the scale applied in double),
// attention recomputed over the whole sequence at every step, no KV cache. Slow by design; it exists
// to catch graph bugs (SiLU where ReLU^2 belongs, a wrong RoPE pairing, a missing sub-norm) that no
// kernel test can see.

#include <cstdint>
#include <vector>

#include "models/weights.h"

namespace tritbench::reference {

class ReferenceModel {
 public:
  explicit ReferenceModel(const models::WeightSource& src);
  // Logits of the last token of `tokens` (positions 0..n-1), computed from scratch.
  std::vector<double> logits(const std::vector<std::int32_t>& tokens) const;

 private:
  struct Linear {
    std::int64_t M, K;
    std::vector<std::int8_t> w;
    double scale;
  };
  struct Block {
    std::vector<double> attn_norm, attn_sub_norm, ffn_norm, ffn_sub_norm;
    Linear q, k, v, o, gate, up, down;
  };
  std::vector<double> bitlinear(const Linear& L, const std::vector<double>& x) const;

  models::ModelConfig cfg_;
  std::vector<Block> blocks_;
  std::vector<double> embd_;  // [vocab x hidden]
  std::vector<double> out_;  // [vocab x hidden], the embedding when tied
  std::vector<double> output_norm_;
};

}  // namespace tritbench::reference
