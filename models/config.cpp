#include "models/config.h"

#include <algorithm>
#include <cctype>

namespace tritbench::models {

namespace {

using A = Activation;

ModelConfig real(const char* name, const char* desc, const char* arch, std::int64_t hidden,
                 std::int64_t ffn, std::int64_t layers, std::int64_t heads, std::int64_t kv,
                 std::int64_t head_dim, std::int64_t vocab, double theta, float eps, A act, bool tied) {
  ModelConfig c;
  c.name = name;
  c.description = desc;
  c.arch = arch;
  c.hidden = hidden;
  c.ffn = ffn;
  c.layers = layers;
  c.heads = heads;
  c.kv_heads = kv;
  c.head_dim = head_dim;
  c.vocab = vocab;
  c.rope_theta = theta;
  c.eps = eps;
  c.act = act;
  c.tied = tied;
  return c;
}

// bitnet.cpp's synthetic ("dummy") sizes: kv heads = heads, LLaMA-3 vocabulary, `bitnet` arch
// (what its generator writes), tied F16 embedding like 2B-4T.
ModelConfig synthetic(const char* name, std::int64_t hidden, std::int64_t ffn, std::int64_t layers,
                      std::int64_t heads) {
  return real(name, "bitnet.cpp synthetic size", "bitnet", hidden, ffn, layers, heads, heads,
              hidden / heads, 128256, 500000, 1e-5f, A::kSilu, true);
}

const std::vector<ModelConfig>& table() {
  static const std::vector<ModelConfig> t = {
      real("2b4t", "microsoft/BitNet-b1.58-2B-4T", "bitnet-b1.58", 2560, 6912, 30, 20, 5, 128, 128256,
           500000, 1e-5f, A::kReluSquared, true),
      real("large", "1bitLLM/bitnet_b1_58-large (0.7B)", "bitnet", 1536, 4096, 24, 16, 16, 96, 32002,
           10000, 1e-5f, A::kSilu, true),
      real("3b", "1bitLLM/bitnet_b1_58-3B", "bitnet", 3200, 8640, 26, 32, 32, 100, 32002, 10000, 1e-5f,
           A::kSilu, true),
      real("8b", "HF1BitLLM/Llama3-8B-1.58-100B-tokens", "bitnet", 4096, 14336, 32, 32, 8, 128, 128256,
           500000, 1e-5f, A::kSilu, false),
      real("falcon3-1b", "tiiuae/Falcon3-1B-Instruct-1.58bit", "bitnet", 2048, 8192, 18, 8, 4, 256,
           131072, 1000042, 1e-6f, A::kSilu, false),
      real("falcon3-3b", "tiiuae/Falcon3-3B-Instruct-1.58bit", "bitnet", 3072, 9216, 22, 12, 4, 256,
           131072, 1000042, 1e-6f, A::kSilu, false),
      real("falcon3-7b", "tiiuae/Falcon3-7B-Instruct-1.58bit", "bitnet", 3072, 23040, 28, 12, 4, 256,
           131072, 1000042, 1e-6f, A::kSilu, false),
      real("falcon3-10b", "tiiuae/Falcon3-10B-Instruct-1.58bit", "bitnet", 3072, 23040, 40, 12, 4, 256,
           131072, 1000042, 1e-6f, A::kSilu, false),
      // Small models for tests and the quickstart: the 2B-4T architecture (ReLU^2, GQA, tied) and the
      // 1bitLLM one (SiLU, no GQA), scaled down.
      real("tiny", "test model: 2B-4T architecture, scaled down", "bitnet-b1.58", 256, 640, 2, 4, 2, 64,
           2048, 500000, 1e-5f, A::kReluSquared, true),
      real("tiny-silu", "test model: bitnet_b1_58 architecture, scaled down", "bitnet", 192, 512, 2, 3, 3,
           64, 1024, 10000, 1e-5f, A::kSilu, false),
      real("small", "quickstart model: 2B-4T architecture, ~100M parameters", "bitnet-b1.58", 1024, 2816,
           8, 8, 2, 128, 32768, 500000, 1e-5f, A::kReluSquared, true),
      synthetic("125m", 768, 3072, 11, 12),
      synthetic("350m", 1024, 3072, 24, 16),
      synthetic("1b", 2048, 3584, 24, 32),
      synthetic("1.5b", 1536, 9216, 28, 32),
      synthetic("2.7b", 3072, 7680, 24, 32),
      synthetic("3.8b", 3840, 8192, 24, 32),
      synthetic("7b", 4096, 12032, 32, 32),
      synthetic("13b", 5120, 13824, 40, 40),
      synthetic("30b", 6656, 16384, 60, 52),
      synthetic("70b", 8192, 24576, 80, 64),
      synthetic("100b", 8192, 45568, 72, 64),
  };
  return t;
}

std::string normalize(std::string_view s) {
  std::string out;
  for (char ch : s)
    if (ch != '-' && ch != '_') out += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

}  // namespace

std::int64_t ModelConfig::ternary_params() const {
  const std::int64_t attn = hidden * q_dim() * 2 + hidden * kv_dim() * 2;
  const std::int64_t mlp = 3 * hidden * ffn;
  return layers * (attn + mlp);
}

std::int64_t ModelConfig::params() const {
  const std::int64_t norms = layers * (2 * hidden + (sub_norms ? q_dim() + ffn : 0)) + hidden;
  return ternary_params() + vocab * hidden * (tied ? 1 : 2) + norms;
}

std::span<const ModelConfig> presets() { return table(); }

const ModelConfig* find_preset(std::string_view name) {
  const std::string n = normalize(name);
  for (const auto& c : table())
    if (normalize(c.name) == n) return &c;
  return nullptr;
}

std::string preset_names() {
  std::string s;
  for (const auto& c : table()) s += (s.empty() ? "" : ", ") + c.name;
  return s;
}

std::vector<LinearShape> linear_shapes(const ModelConfig& c) {
  std::vector<LinearShape> out;
  auto add = [&](std::string label, std::int64_t M, std::int64_t K, int n) {
    for (auto& s : out)
      if (s.M == M && s.K == K) {
        s.label += "+" + label;
        s.per_layer += n;
        return;
      }
    out.push_back({std::move(label), M, K, n});
  };
  add("attn_q", c.q_dim(), c.hidden, 1);
  add("attn_k", c.kv_dim(), c.hidden, 1);
  add("attn_v", c.kv_dim(), c.hidden, 1);
  add("attn_output", c.hidden, c.q_dim(), 1);
  add("ffn_gate", c.ffn, c.hidden, 1);
  add("ffn_up", c.ffn, c.hidden, 1);
  add("ffn_down", c.hidden, c.ffn, 1);
  return out;
}

std::vector<LinearCall> linear_calls(const ModelConfig& c) {
  return {{"attn_qkv", {c.q_dim(), c.kv_dim(), c.kv_dim()}, c.hidden},
          {"attn_output", {c.hidden}, c.q_dim()},
          {"ffn_gate_up", {c.ffn, c.ffn}, c.hidden},
          {"ffn_down", {c.hidden}, c.ffn}};
}

}  // namespace tritbench::models
