#pragma once
// Model configurations: the real BitNet b1.58 models and bitnet.cpp's synthetic sizes
// (spec/bitnet-formats.md section 5), selectable by name.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tritbench::models {

enum class Activation { kReluSquared, kSilu };

struct ModelConfig {
  std::string name;  // preset name, e.g. "2b4t"
  std::string description;
  std::string arch;  // GGUF general.architecture: "bitnet-b1.58" or "bitnet"
  std::int64_t hidden = 0, ffn = 0, layers = 0, heads = 0, kv_heads = 0, head_dim = 0, vocab = 0;
  std::int64_t context = 4096;
  double rope_theta = 10000;
  float eps = 1e-5f;
  Activation act = Activation::kSilu;
  bool tied = true;  // output matrix = token embedding
  // attn_sub_norm / ffn_sub_norm before attn_output and ffn_down (BitNet b1.58 and 1bitLLM's
  // models). The ternary Llama3 / Falcon3 checkpoints (transformers' BitNet quantization of plain
  // Llama blocks) have none: their BitLinears quantize the attention output and the GLU product as
  // they are. Such a model is stored without those tensors, which is how loaders recognize it.
  bool sub_norms = true;

  std::int64_t q_dim() const { return heads * head_dim; }
  std::int64_t kv_dim() const { return kv_heads * head_dim; }
  // Parameters: ternary (BitLinear) and all.
  std::int64_t ternary_params() const;
  std::int64_t params() const;
};

// Every preset, in a stable order.
std::span<const ModelConfig> presets();
// Looks up a preset by name (case-insensitive; '-' and '_' ignored, so "2B-4T" == "2b4t");
// nullptr if unknown.
const ModelConfig* find_preset(std::string_view name);
std::string preset_names();  // "2b4t, large, ..." for error messages

// The distinct BitLinear shapes of a model, M (out) x K (in), with how many per layer.
struct LinearShape {
  std::string label;  // "attn_q+o", "attn_k+v", "ffn_gate+up", "ffn_down"
  std::int64_t M, K;
  int per_layer;
};
std::vector<LinearShape> linear_shapes(const ModelConfig& c);

// The BitLinear calls a layer makes, in order (models/transformer.cpp): matrices that read the
// same activations run as one call (gemm_f32_multi: q, k and v; gate and up), so a call is one
// or more matrices of the same K, parts = their row counts.
struct LinearCall {
  std::string label;  // "attn_qkv", "attn_output", "ffn_gate_up", "ffn_down"
  std::vector<std::int64_t> parts;
  std::int64_t K;
};
std::vector<LinearCall> linear_calls(const ModelConfig& c);

}  // namespace tritbench::models
