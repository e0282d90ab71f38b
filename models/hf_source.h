#pragma once
// A BitNet b1.58 model from a Hugging Face checkpoint folder (config.json, *.safetensors,
// tokenizer.json, tokenizer_config.json), read without Python.
//
// Architectures (config.json "architectures", "hidden_act", spec/bitnet-formats.md section 5):
//   BitNetForCausalLM / BitnetForCausalLM with hidden_act "relu2" -> "bitnet-b1.58" (2B-4T: ReLU^2)
//   BitNetForCausalLM / BitnetForCausalLM with hidden_act "silu"  -> "bitnet" (1bitLLM: SiLU)
//   LlamaForCausalLM with quantization_config.quant_method "bitnet" (Llama3-8B-1.58, Falcon3-*-
//     1.58bit: transformers' BitNet quantization of plain Llama blocks) -> "bitnet" with SiLU and
//     no sub-norms (ModelConfig::sub_norms)
// anything else is refused by name.
//
// Tensor names map to GGUF names (model.embed_tokens -> token_embd, model.norm -> output_norm,
// lm_head -> output, model.layers.N.{input_layernorm -> attn_norm, self_attn.{q,k,v,o}_proj ->
// attn_{q,k,v,output}, self_attn.attn_sub_norm (1bitLLM: inner_attn_ln) -> attn_sub_norm,
// post_attention_layernorm -> ffn_norm, mlp.{gate,up,down}_proj -> ffn_{gate,up,down},
// mlp.ffn_sub_norm (1bitLLM: ffn_layernorm) -> ffn_sub_norm}). A tensor the model does not use is
// refused rather than dropped (a bias, say, would silently change the model).
//
// BitLinear weights come in two styles:
//   master weights (BF16 / F16 / F32, shape [out, in]): quantized with the training-time absmean
//     quantizer (reference::quantize_weights_absmean), as the bf16 checkpoint's arithmetic does;
//   packed (U8, shape [out/4, in]) plus a one-element `<name>_scale` tensor (e.g.
//     q_proj.weight_scale): output row r + j*(out/4) = ((packed[r] >> 2j) & 3) - 1 (code 3 is
//     refused).
//
// The weight_scale convention depends on the transformers class the config names
// (quantization_config.linear_class), and the two disagree:
//   "bitlinear" (the default; HF1BitLLM Llama3-8B-1.58, Falcon3 1.58-bit): BitLinear divides the
//     matmul output by weight_scale, so the real weight is ternary / weight_scale (weight_scale =
//     1 / mean|W|) and the canonical scale (a multiplier) is 1 / weight_scale;
//   "autobitlinear" (microsoft/bitnet-b1.58-2B-4T, quantization_mode "offline"): AutoBitLinear
//     multiplies the output by weight_scale, so the real weight is ternary * weight_scale
//     (weight_scale = mean|W|) and the canonical scale is weight_scale itself.
// Checked against the bf16 checkpoints' arithmetic (absmean: W = t * mean|W|): a test builds the
// master, the divide and the multiply style from the same float weights and gets the same
// TernaryMatrix and scale from all three.
//
// Opening checks every config field, every tensor's presence, dtype and shape (from the config),
// each weight_scale (finite, positive) and the tokenizer (built once, so a converted file's
// vocabulary is known to load). Weights are read lazily, one tensor per call.

#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>

#include "models/safetensors.h"
#include "models/weights.h"

namespace tritbench::models {

// Every failure to read a checkpoint folder. The message starts with the file it concerns.
struct HfError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Packed uint8 ternary weights (see above) to the canonical form, with scale = 1 / weight_scale
// when `divides` (BitLinear) and weight_scale otherwise (AutoBitLinear). Throws HfError naming
// `what`, the packed row and column of a code 3, or a non-finite / non-positive weight_scale.
TernaryMatrix unpack_hf_ternary(const std::uint8_t* packed, std::int64_t M, std::int64_t K,
                                float weight_scale, bool divides, const std::string& what);

// The GGUF name of a HF tensor name ("" if it is not one this project maps), and whether it is a
// BitLinear's weight_scale (then the name is the GGUF name of its weight).
struct HfName {
  std::string gguf;
  bool is_scale = false;
};
HfName hf_to_gguf_name(const std::string& hf);

// config.json: the ModelConfig (arch, act, sizes, context, tied when the field is present;
// sub_norms = true except for LlamaForCausalLM; `tied_default` when tie_word_embeddings is
// absent) and the weight_scale convention. Throws HfError naming `path` and the field.
struct HfConfig {
  ModelConfig model;
  std::string linear_class;  // quantization_config.linear_class ("" when absent = "bitlinear")
  bool weight_scale_divides = true;  // false for "autobitlinear"
};
HfConfig parse_hf_config(const std::string& json_text, const std::string& path, bool tied_default);

// HF tokenizers' tokenizer.json (a BPE model) to the GGUF vocabulary form:
//   byte-level BPE (no byte_fallback): model "gpt2", pre "llama-bpe" for LLaMA-3's Split regex +
//     ByteLevel, "gpt2" for GPT-2's ByteLevel(use_regex); tokens from model.vocab and
//     added_tokens (special -> control, else user-defined); merges ("a b" strings or [a, b] pairs)
//     in rank order;
//   SentencePiece-style BPE (byte_fallback, "▁" for spaces): model "llama"; <0xAB> tokens typed
//     byte, unk_token unknown; scores = -merge rank of the merge that makes each piece (the order
//     SentencePiece merges in), 0 for pieces no merge makes.
// tokenizer_config.json (optional, may be empty text) gives bos_token / eos_token (a string or
// {"content": ...}), add_bos_token / add_eos_token and chat_template; chat_template.jinja (optional
// text) is used when the config has no template. Without add_bos_token, bos is added when the
// post_processor's single-sequence template starts with it. A vocabulary smaller than
// `vocab_size` (config.json) is padded with unused "[PAD<id>]" tokens; a larger one is refused.
// Refused with an HfError naming the file and field: a non-BPE model, no or malformed merges, a
// merge whose parts or result are not tokens, ids that repeat or leave gaps, a pre-tokenizer or
// normalizer this project does not implement.
TokenizerSpec parse_hf_tokenizer(const std::string& tokenizer_json, const std::string& config_json,
                                 const std::string& chat_template_jinja, std::int64_t vocab_size,
                                 const std::string& path);

class HfSource : public WeightSource {
 public:
  // Throws HfError / SafetensorsError naming the file and the field.
  explicit HfSource(const std::string& folder);

  const ModelConfig& config() const override { return cfg_; }
  TernaryMatrix ternary(const std::string& name) const override;
  DenseTensor dense(const std::string& name) const override;
  bool has(const std::string& name) const override;
  void release(const std::string& name) const override;
  const TokenizerSpec* tokenizer() const override {
    return vocab_.tokens.empty() ? nullptr : &vocab_;
  }
  std::string describe() const override { return folder_; }

  // "packed uint8 + weight_scale", "BF16 master weights", or a mix, for reports.
  std::string weight_style() const;
  std::size_t shards() const { return ckpt_->shards(); }
  // Why there is no vocabulary (e.g. "no tokenizer.json"), empty when there is one.
  const std::string& tokenizer_note() const { return tokenizer_note_; }

 private:
  struct Entry {
    const StTensor* t = nullptr;      // the weight (or norm / embedding)
    const StTensor* scale = nullptr;  // packed BitLinears: weight_scale
    std::string hf_name;
  };
  const Entry& entry(const std::string& name) const;

  std::string folder_;
  bool scale_divides_ = true;
  std::unique_ptr<SafetensorsCheckpoint> ckpt_;
  ModelConfig cfg_;
  std::map<std::string, Entry> entries_;  // by GGUF name
  TokenizerSpec vocab_;
  std::string tokenizer_note_;
};

}  // namespace tritbench::models
