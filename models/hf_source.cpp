#include "models/hf_source.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "models/f16.h"
#include "reference/quantize.h"

namespace tritbench::models {

namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

std::string quote(const std::string& s) { return "'" + s + "'"; }

bool read_file(const fs::path& p, std::string& out) {
  std::error_code ec;
  if (!fs::is_regular_file(p, ec)) return false;
  std::ifstream f(p, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  if (!f) throw HfError(p.string() + ": cannot read");
  out = ss.str();
  return true;
}

// "model.layers.N.<rest>" -> (N, rest); N = -1 for other names, -2 for a malformed index.
std::pair<std::int64_t, std::string> split_layer(const std::string& hf) {
  const std::string prefix = "model.layers.";
  if (hf.rfind(prefix, 0) != 0) return {-1, hf};
  const std::size_t dot = hf.find('.', prefix.size());
  if (dot == std::string::npos) return {-2, ""};
  const std::string num = hf.substr(prefix.size(), dot - prefix.size());
  if (num.empty() || num.size() > 6 || num.find_first_not_of("0123456789") != std::string::npos)
    return {-2, ""};
  return {std::stoll(num), hf.substr(dot + 1)};
}

}  // namespace

// ------------------------------------------------------------------------------------------------

TernaryMatrix unpack_hf_ternary(const std::uint8_t* packed, std::int64_t M, std::int64_t K,
                                float weight_scale, bool divides, const std::string& what) {
  if (M % 4 != 0)
    throw HfError(what + ": " + std::to_string(M) +
                  " output rows are not a multiple of 4 (packed uint8 holds 4 rows per byte row)");
  const std::int64_t R = M / 4;
  TernaryMatrix t;
  t.M = M;
  t.K = K;
  t.w.resize(static_cast<std::size_t>(M * K));
  for (std::int64_t r = 0; r < R; ++r) {
    const std::uint8_t* row = packed + r * K;
    for (int j = 0; j < 4; ++j) {
      std::int8_t* out = t.w.data() + (r + j * R) * K;
      for (std::int64_t k = 0; k < K; ++k) {
        const int code = (row[k] >> (2 * j)) & 3;
        if (code == 3)
          throw HfError(
              what + ": packed byte at row " + std::to_string(r) + ", column " + std::to_string(k) +
              " is " + std::to_string(row[k]) + ": bits " + std::to_string(2 * j) + ".." +
              std::to_string(2 * j + 1) +
              " hold code 3, which is not a ternary value (expected 0, 1, 2 = -1, 0, +1)");
        out[k] = static_cast<std::int8_t>(code - 1);
      }
    }
  }
  if (!std::isfinite(weight_scale) || weight_scale <= 0)
    throw HfError(what + ": weight_scale is " + std::to_string(weight_scale) +
                  " (expected a finite positive number)");
  // BitLinear: y = (x_q W_t) / (x_scale * weight_scale), so W = W_t / weight_scale.
  // AutoBitLinear: y = (x W_t) * weight_scale, so W = W_t * weight_scale.
  t.scale = divides ? 1.0f / weight_scale : weight_scale;
  return t;
}

HfName hf_to_gguf_name(const std::string& hf) {
  HfName out;
  std::string base = hf;
  const std::string scale_suffix = ".weight_scale";
  if (hf.size() > scale_suffix.size() &&
      hf.compare(hf.size() - scale_suffix.size(), scale_suffix.size(), scale_suffix) == 0) {
    base = hf.substr(0, hf.size() - scale_suffix.size()) + ".weight";
    out.is_scale = true;
  }
  if (base == "model.embed_tokens.weight") out.gguf = "token_embd.weight";
  if (base == "model.norm.weight") out.gguf = "output_norm.weight";
  if (base == "lm_head.weight") out.gguf = "output.weight";
  const auto [layer, rest] = split_layer(base);
  if (layer >= 0) {
    static const std::pair<const char*, const char*> kMap[] = {
        {"input_layernorm.weight", "attn_norm"},
        {"self_attn.q_proj.weight", "attn_q"},
        {"self_attn.k_proj.weight", "attn_k"},
        {"self_attn.v_proj.weight", "attn_v"},
        {"self_attn.o_proj.weight", "attn_output"},
        {"self_attn.attn_sub_norm.weight", "attn_sub_norm"},
        {"self_attn.inner_attn_ln.weight", "attn_sub_norm"},  // 1bitLLM's name
        {"post_attention_layernorm.weight", "ffn_norm"},
        {"mlp.gate_proj.weight", "ffn_gate"},
        {"mlp.up_proj.weight", "ffn_up"},
        {"mlp.down_proj.weight", "ffn_down"},
        {"mlp.ffn_sub_norm.weight", "ffn_sub_norm"},
        {"mlp.ffn_layernorm.weight", "ffn_sub_norm"},  // 1bitLLM's name
    };
    for (const auto& [h, g] : kMap)
      if (rest == h) out.gguf = layer_tensor(layer, g);
  }
  if (out.is_scale && !is_bitlinear_weight(out.gguf)) out.gguf.clear();
  return out;
}

// ------------------------------------------------------------------------------------------------
// config.json

HfConfig parse_hf_config(const std::string& json_text, const std::string& path, bool tied_default) {
  const json j = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) throw HfError(path + ": not a valid JSON object");
  auto fail = [&](const std::string& what) -> void { throw HfError(path + ": " + what); };
  auto field = [&](const char* key) -> const json* {
    const auto it = j.find(key);
    return it == j.end() || it->is_null() ? nullptr : &*it;
  };
  auto integer = [&](const char* key, std::int64_t max, const std::int64_t* def) -> std::int64_t {
    const json* v = field(key);
    if (!v) {
      if (def) return *def;
      fail(std::string("field '") + key + "' is missing (expected a positive integer)");
    }
    if (!v->is_number_integer() || v->get<std::int64_t>() <= 0 || v->get<std::int64_t>() > max)
      fail(std::string("field '") + key + "' is " + v->dump() + " (expected an integer in 1.." +
           std::to_string(max) + ")");
    return v->get<std::int64_t>();
  };
  auto number = [&](const char* key, const double* def) -> double {
    const json* v = field(key);
    if (!v) {
      if (def) return *def;
      fail(std::string("field '") + key + "' is missing (expected a number)");
    }
    if (!v->is_number())
      fail(std::string("field '") + key + "' is " + v->dump() + " (expected a number)");
    return v->get<double>();
  };
  auto string = [&](const char* key) -> std::string {
    const json* v = field(key);
    if (!v) return "";
    if (!v->is_string())
      fail(std::string("field '") + key + "' is " + v->dump() + " (expected a string)");
    return v->get<std::string>();
  };

  // Architecture.
  const json* archs = field("architectures");
  if (!archs || !archs->is_array() || archs->empty() || !(*archs)[0].is_string())
    fail(
        "field 'architectures' is missing or not a list of names (expected e.g. "
        "[\"BitNetForCausalLM\"])");
  const std::string arch = (*archs)[0].get<std::string>();
  const std::string act = string("hidden_act");
  HfConfig out;
  ModelConfig& c = out.model;
  // quantization_config (optional for BitNet checkpoints, required for Llama ones).
  std::string method;
  if (const json* q = field("quantization_config")) {
    if (!q->is_object()) fail("field 'quantization_config' is not an object");
    auto qstr = [&](const char* key) -> std::string {
      const auto it = q->find(key);
      if (it == q->end() || it->is_null()) return "";
      if (!it->is_string())
        fail(std::string("field 'quantization_config.") + key + "' is " + it->dump() +
             " (expected a string)");
      return it->get<std::string>();
    };
    method = qstr("quant_method");
    if (!method.empty() && method != "bitnet")
      fail("field 'quantization_config.quant_method' is " + quote(method) +
           " (expected 'bitnet': tritbench reads BitNet b1.58 checkpoints)");
    out.linear_class = qstr("linear_class");
    if (out.linear_class == "autobitlinear") {
      out.weight_scale_divides = false;
    } else if (!out.linear_class.empty() && out.linear_class != "bitlinear") {
      fail("field 'quantization_config.linear_class' is " + quote(out.linear_class) +
           " (expected 'bitlinear' or 'autobitlinear')");
    }
    if (const auto r = q->find("use_rms_norm");
        r != q->end() && !r->is_null() && r->dump() != "false")
      fail("field 'quantization_config.use_rms_norm' is " + r->dump() +
           " (an RMSNorm inside every BitLinear is not implemented; expected false)");
  }
  const char* supported =
      " (supported: BitNetForCausalLM / BitnetForCausalLM with hidden_act 'relu2' (BitNet b1.58 "
      "2B-4T) or 'silu' (1bitLLM bitnet_b1_58), and LlamaForCausalLM with quantization_config "
      "quant_method 'bitnet' (Llama3-8B-1.58, Falcon3 1.58-bit))";
  if (arch == "BitNetForCausalLM" || arch == "BitnetForCausalLM") {
    if (act.empty())
      fail("field 'hidden_act' is missing (expected 'relu2' or 'silu' for " + arch + ")");
    if (act == "relu2") {
      c.arch = "bitnet-b1.58";
      c.act = Activation::kReluSquared;
    } else if (act == "silu") {
      c.arch = "bitnet";
      c.act = Activation::kSilu;
    } else {
      fail("field 'hidden_act' is " + quote(act) + ", expected 'relu2' or 'silu' for " + arch);
    }
  } else if (arch == "LlamaForCausalLM") {
    if (method != "bitnet")
      fail(
          "field 'architectures' is 'LlamaForCausalLM' without quantization_config.quant_method "
          "'bitnet': a full-precision Llama model, not a ternary one" +
          std::string(supported));
    if (!act.empty() && act != "silu")
      fail("field 'hidden_act' is " + quote(act) + ", expected 'silu' for a ternary Llama model");
    c.arch = "bitnet";
    c.act = Activation::kSilu;
    c.sub_norms = false;
  } else {
    fail("field 'architectures' is " + quote(arch) + ", which tritbench does not run" + supported);
  }

  // Sizes.
  c.hidden = integer("hidden_size", std::int64_t{1} << 20, nullptr);
  c.ffn = integer("intermediate_size", std::int64_t{1} << 22, nullptr);
  c.layers = integer("num_hidden_layers", 4096, nullptr);
  c.heads = integer("num_attention_heads", 4096, nullptr);
  c.kv_heads = integer("num_key_value_heads", c.heads, &c.heads);
  c.vocab = integer("vocab_size", std::int64_t{1} << 24, nullptr);
  const std::int64_t ctx_default = 4096;
  c.context = integer("max_position_embeddings", std::int64_t{1} << 24, &ctx_default);
  if (c.hidden % c.heads != 0)
    fail("field 'hidden_size' (" + std::to_string(c.hidden) +
         ") is not a multiple of 'num_attention_heads' (" + std::to_string(c.heads) +
         "): expected hidden = heads * head_dim");
  c.head_dim = c.hidden / c.heads;
  const std::int64_t hd = integer("head_dim", 1 << 16, &c.head_dim);
  if (hd != c.head_dim)
    fail("field 'head_dim' is " + std::to_string(hd) + ", expected hidden_size / " +
         "num_attention_heads = " + std::to_string(c.head_dim) +
         " (tritbench's models have hidden = heads * head_dim)");
  if (c.head_dim % 2 != 0)
    fail("the head dimension " + std::to_string(c.head_dim) + " is odd (RoPE needs pairs)");
  if (c.heads % c.kv_heads != 0)
    fail("field 'num_attention_heads' (" + std::to_string(c.heads) +
         ") is not a multiple of 'num_key_value_heads' (" + std::to_string(c.kv_heads) + ")");
  const double theta_default = 10000;
  c.rope_theta = number("rope_theta", &theta_default);
  if (!std::isfinite(c.rope_theta) || c.rope_theta <= 1)
    fail("field 'rope_theta' is " + std::to_string(c.rope_theta) + " (expected a number > 1)");
  const double eps = number("rms_norm_eps", nullptr);
  if (!std::isfinite(eps) || eps <= 0 || eps >= 1)
    fail("field 'rms_norm_eps' is " + std::to_string(eps) + " (expected a small positive number)");
  c.eps = static_cast<float>(eps);
  c.tied = tied_default;
  if (const json* t = field("tie_word_embeddings")) {
    if (!t->is_boolean())
      fail("field 'tie_word_embeddings' is " + t->dump() + " (expected true or false)");
    c.tied = t->get<bool>();
  }
  // What the forward pass does not implement is refused, not ignored.
  if (const json* rs = field("rope_scaling")) {
    const std::string type =
        rs->is_object() ? rs->value("rope_type", rs->value("type", std::string())) : std::string();
    if (type != "default")
      fail("field 'rope_scaling' is " + rs->dump().substr(0, 120) +
           " (RoPE scaling is not implemented; expected null)");
  }
  for (const char* key : {"attention_bias", "mlp_bias"})
    if (const json* b = field(key); b && (!b->is_boolean() || b->get<bool>()))
      fail(std::string("field '") + key + "' is " + b->dump() +
           " (biases are not implemented; expected false)");
  const std::string name = string("_name_or_path");
  c.name = name.empty() ? fs::path(path).parent_path().filename().string() : name;
  c.description = path;
  return out;
}

// ------------------------------------------------------------------------------------------------
// HfSource

HfSource::HfSource(const std::string& folder) : folder_(folder) {
  const fs::path dir(folder);
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw HfError(folder + ": not a directory (expected a checkpoint folder)");
  const std::string cfg_path = (dir / "config.json").string();
  std::string cfg_text;
  if (!read_file(cfg_path, cfg_text))
    throw HfError(folder + ": no config.json (expected a Hugging Face checkpoint folder)");
  // tie_word_embeddings may be absent: then the checkpoint decides (no lm_head = tied). That needs
  // the tensor list, which needs the folder opened; parse once to validate, once more with it.
  parse_hf_config(cfg_text, cfg_path, true);
  ckpt_ = std::make_unique<SafetensorsCheckpoint>(folder);
  const HfConfig hc = parse_hf_config(cfg_text, cfg_path, ckpt_->find("lm_head.weight") == nullptr);
  cfg_ = hc.model;
  scale_divides_ = hc.weight_scale_divides;
  const ModelConfig& c = cfg_;

  // Every checkpoint tensor to its GGUF name; unknown ones refused.
  const std::string ckpt_name = ckpt_->shards() > 1 ? folder : (dir / "model.safetensors").string();
  bool any_sub_norm = false;
  for (const std::string& hf : ckpt_->names()) {
    const StTensor* t = ckpt_->find(hf);
    // RoPE frequencies some older checkpoints save: recomputed from rope_theta, not weights.
    if (hf.ends_with(".rotary_emb.inv_freq")) continue;
    const HfName g = hf_to_gguf_name(hf);
    if (g.gguf.empty())
      throw HfError(t->file + ": tensor " + quote(hf) + " is not part of a " + c.arch +
                    " model (unknown name; refusing to drop it, since it may change the model)");
    if (g.gguf == "output.weight" && c.tied) continue;  // tied: transformers uses the embedding
    const auto [layer, _] = split_layer(hf);
    if (layer >= c.layers)
      throw HfError(t->file + ": tensor " + quote(hf) + " is in layer " + std::to_string(layer) +
                    ", but config.json's num_hidden_layers is " + std::to_string(c.layers));
    Entry& e = entries_[g.gguf];
    if (g.is_scale) {
      e.scale = t;
    } else {
      if (e.t)
        throw HfError(t->file + ": tensors " + quote(e.hf_name) + " and " + quote(hf) +
                      " are both " + g.gguf + " (two names for one tensor)");
      e.t = t;
      e.hf_name = hf;
    }
    if (g.gguf.find("_sub_norm.") != std::string::npos) any_sub_norm = true;
  }
  if (!c.sub_norms && any_sub_norm) cfg_.sub_norms = true;  // a Llama-style model that has them
  if (!c.tied && !entries_.count("output.weight"))
    throw HfError(cfg_path +
                  ": field 'tie_word_embeddings' is false but the checkpoint has no "
                  "lm_head.weight (expected the output matrix)");

  // Every tensor of the architecture: present, with the config's shape and a usable dtype.
  const SyntheticSource shapes(cfg_, 0);
  std::map<std::string, std::string> gguf_to_hf_hint;
  for (const std::string& n : shapes.tensor_names()) {
    const auto it = entries_.find(n);
    const auto [rows, cols] = shapes.shape(n);
    if (it == entries_.end() || !it->second.t) {
      std::string hint;
      for (const char* h : {"model.embed_tokens.weight", "model.norm.weight", "lm_head.weight"})
        if (hf_to_gguf_name(h).gguf == n) hint = h;
      if (hint.empty()) {
        const auto [layer, what] = [&] {
          const std::size_t d1 = n.find('.', 4), d2 = n.rfind('.');
          return std::pair{n.substr(4, d1 - 4), n.substr(d1 + 1, d2 - d1 - 1)};
        }();
        static const std::pair<const char*, const char*> kHf[] = {
            {"attn_norm", "input_layernorm"},
            {"attn_q", "self_attn.q_proj"},
            {"attn_k", "self_attn.k_proj"},
            {"attn_v", "self_attn.v_proj"},
            {"attn_output", "self_attn.o_proj"},
            {"attn_sub_norm", "self_attn.attn_sub_norm"},
            {"ffn_norm", "post_attention_layernorm"},
            {"ffn_gate", "mlp.gate_proj"},
            {"ffn_up", "mlp.up_proj"},
            {"ffn_down", "mlp.down_proj"},
            {"ffn_sub_norm", "mlp.ffn_sub_norm"}};
        for (const auto& [g, h] : kHf)
          if (what == g) hint = "model.layers." + layer + "." + h + ".weight";
      }
      if (it != entries_.end() && it->second.scale)
        throw HfError(it->second.scale->file + ": tensor " +
                      quote(hint.substr(0, hint.size() - 7) + ".weight_scale") + " has no weight " +
                      quote(hint));
      throw HfError(ckpt_name + ": tensor " + quote(hint) + " is missing (expected for a " +
                    c.arch + " model with " + std::to_string(c.layers) + " layers" +
                    (cfg_.sub_norms ? "" : ", no sub-norms") + ")");
    }
    const Entry& e = it->second;
    const StTensor& t = *e.t;
    const std::string where = t.file + ": tensor " + quote(e.hf_name) + " (" +
                              st_dtype_name(t.dtype) + " " + t.shape_str() + ")";
    const bool is_float =
        t.dtype == StDType::kBF16 || t.dtype == StDType::kF16 || t.dtype == StDType::kF32;
    const std::vector<std::int64_t> want =
        rows == 1 ? std::vector<std::int64_t>{cols} : std::vector<std::int64_t>{rows, cols};
    auto shape_str = [](const std::vector<std::int64_t>& s) {
      std::string r = "[";
      for (std::size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
      return r + "]";
    };
    if (is_bitlinear_weight(n)) {
      if (t.dtype == StDType::kU8) {
        if (!e.scale)
          throw HfError(where + ": packed uint8 weights need a " +
                        quote(e.hf_name.substr(0, e.hf_name.size() - 7) + ".weight_scale") +
                        " tensor, which is missing");
        const std::vector<std::int64_t> packed = {rows / 4, cols};
        if (rows % 4 != 0 || t.shape != packed)
          throw HfError(where + ": expected packed shape " + shape_str(packed) +
                        " ([out/4, in] for " + std::to_string(rows) + " x " + std::to_string(cols) +
                        " from config.json)");
        const StTensor& s = *e.scale;
        const std::string swhere = s.file + ": tensor " + quote(e.hf_name + "_scale") + " (" +
                                   st_dtype_name(s.dtype) + " " + s.shape_str() + ")";
        if (s.elements() != 1 || s.shape.size() > 1)
          throw HfError(swhere + ": expected one number (shape [] or [1])");
        if (s.dtype != StDType::kBF16 && s.dtype != StDType::kF16 && s.dtype != StDType::kF32)
          throw HfError(swhere + ": expected BF16, F16 or F32");
        const float v = s.get(0);
        if (!std::isfinite(v) || v <= 0)
          throw HfError(swhere + ": value is " + std::to_string(v) +
                        " (expected finite and positive)");
      } else if (is_float) {
        if (e.scale)
          throw HfError(where +
                        ": float master weights with a weight_scale tensor (expected "
                        "either packed uint8 + weight_scale, or float weights alone)");
        if (t.shape != want)
          throw HfError(where + ": expected shape " + shape_str(want) +
                        " ([out, in] from config.json)");
      } else {
        throw HfError(where + ": dtype " + st_dtype_name(t.dtype) +
                      " is not a BitLinear weight layout (expected packed U8 + weight_scale, or "
                      "BF16 / F16 / F32 master weights)");
      }
    } else {
      if (!is_float)
        throw HfError(where + ": dtype " + st_dtype_name(t.dtype) + " (expected BF16, F16 or F32)");
      if (t.shape != want)
        throw HfError(where + ": expected shape " + shape_str(want) + " (from config.json)");
      if (rows == 1) {  // norms: small, checked now
        for (std::int64_t i = 0; i < cols; ++i)
          if (!std::isfinite(t.get(i)))
            throw HfError(where + ": element " + std::to_string(i) + " is " +
                          std::to_string(t.get(i)) + " (expected finite)");
      }
    }
  }

  // The vocabulary.
  std::string tok_text, tok_cfg, jinja;
  if (read_file(dir / "tokenizer.json", tok_text)) {
    read_file(dir / "tokenizer_config.json", tok_cfg);
    read_file(dir / "chat_template.jinja", jinja);
    vocab_ =
        parse_hf_tokenizer(tok_text, tok_cfg, jinja, c.vocab, (dir / "tokenizer.json").string());
  } else {
    tokenizer_note_ = "no tokenizer.json in " + folder;
  }
}

const HfSource::Entry& HfSource::entry(const std::string& name) const {
  const auto it = entries_.find(name);
  if (it == entries_.end() || !it->second.t)
    throw HfError(folder_ + ": the model has no tensor '" + name + "'");
  return it->second;
}

bool HfSource::has(const std::string& name) const {
  const auto it = entries_.find(name);
  return it != entries_.end() && it->second.t;
}

void HfSource::release(const std::string& name) const {
  const auto it = entries_.find(name);
  if (it == entries_.end()) return;
  if (it->second.t) ckpt_->release(*it->second.t);
  if (it->second.scale) ckpt_->release(*it->second.scale);
}

TernaryMatrix HfSource::ternary(const std::string& name) const {
  if (!is_bitlinear_weight(name))
    throw HfError(folder_ + ": '" + name + "' is not a BitLinear weight");
  const Entry& e = entry(name);
  const StTensor& t = *e.t;
  const std::string what = t.file + ": tensor " + quote(e.hf_name);
  if (t.dtype == StDType::kU8)
    return unpack_hf_ternary(t.data, t.shape[0] * 4, t.shape[1], e.scale->get(0), scale_divides_,
                             what);
  const std::int64_t M = t.shape[0], K = t.shape[1];
  std::vector<float> w(static_cast<std::size_t>(M * K));
  t.to_float(0, M * K, w.data());
  for (std::int64_t i = 0; i < M * K; ++i) {
    if (!std::isfinite(w[i]))
      throw HfError(what + ": weight " + std::to_string(i) + " (row " + std::to_string(i / K) +
                    ") is " + std::to_string(w[i]) + " (expected finite master weights)");
  }
  return reference::quantize_weights_absmean(w.data(), M, K);
}

DenseTensor HfSource::dense(const std::string& name) const {
  const Entry& e = entry(name);
  const StTensor& t = *e.t;
  if (is_bitlinear_weight(name) && t.dtype == StDType::kU8)
    throw HfError(t.file + ": tensor " + quote(e.hf_name) + " is packed ternary, not dense");
  DenseTensor d;
  d.name = name;
  switch (t.dtype) {
    case StDType::kF32:
      d.type = DType::kF32;
      break;
    case StDType::kF16:
      d.type = DType::kF16;
      break;
    case StDType::kBF16:
      d.type = DType::kBF16;
      break;
    default:
      throw HfError(t.file + ": tensor " + quote(e.hf_name) + " has dtype " +
                    st_dtype_name(t.dtype) + " (expected BF16, F16 or F32)");
  }
  d.rows = t.shape.size() == 1 ? 1 : t.shape[0];
  d.cols = t.shape.back();
  d.data = t.data;
  d.keep = ckpt_->mapping_of(t);
  return d;
}

std::string HfSource::weight_style() const {
  std::map<std::string, int> styles;
  for (const auto& [name, e] : entries_)
    if (is_bitlinear_weight(name) && e.t)
      ++styles[e.t->dtype == StDType::kU8 ? "packed uint8 + weight_scale"
                                          : std::string(st_dtype_name(e.t->dtype)) +
                                                " master weights (absmean-quantized)"];
  std::string s;
  for (const auto& [k, n] : styles) s += (s.empty() ? "" : ", ") + k;
  return s;
}

}  // namespace tritbench::models
