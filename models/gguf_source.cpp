#include "models/gguf_source.h"

#include <cmath>
#include <cstring>
#include <limits>

#include "kernels/i2s/i2s.h"
#include "reference/quantize.h"

namespace tritbench::models {

namespace {

std::string basename_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string dims_str(std::int64_t rows, std::int64_t cols) {
  // ggml order: innermost first; vectors have one dimension.
  std::string s = "[";
  s += std::to_string(cols);
  if (rows != 1) s += ", " + std::to_string(rows);
  return s + "]";
}

}  // namespace

GgufSource::GgufSource(const std::string& path) : file_(GgufFile::open(path)) { load(); }

GgufSource::GgufSource(std::shared_ptr<const GgufFile> file) : file_(std::move(file)) { load(); }

void GgufSource::load() {
  const GgufFile& f = *file_;
  const std::string arch = f.get_string("general.architecture");
  if (arch != "bitnet-b1.58" && arch != "bitnet")
    f.fail("key 'general.architecture' is '" + arch +
           "', expected 'bitnet-b1.58' (BitNet b1.58 2B-4T: ReLU^2) or 'bitnet' (1bitLLM layout: "
           "SiLU); "
           "tritbench runs only BitNet b1.58 models");
  const std::string p = arch + ".";

  auto positive = [&](const std::string& key, std::int64_t max) {
    const std::int64_t v = f.get_int(key);
    if (v <= 0 || v > max)
      f.fail("key '" + key + "' is " + std::to_string(v) + " (expected 1.." + std::to_string(max) +
             ")");
    return v;
  };
  ModelConfig c;
  c.arch = arch;
  c.act = arch == "bitnet-b1.58" ? Activation::kReluSquared : Activation::kSilu;
  c.context = positive(p + "context_length", std::int64_t{1} << 24);
  c.hidden = positive(p + "embedding_length", std::int64_t{1} << 20);
  c.layers = positive(p + "block_count", std::int64_t{1} << 12);
  c.ffn = positive(p + "feed_forward_length", std::int64_t{1} << 22);
  c.heads = positive(p + "attention.head_count", std::int64_t{1} << 12);
  c.kv_heads = f.has(p + "attention.head_count_kv")
                   ? positive(p + "attention.head_count_kv", c.heads)
                   : c.heads;
  if (c.hidden % c.heads != 0)
    f.fail("key '" + p + "embedding_length' (" + std::to_string(c.hidden) +
           ") is not a multiple of '" + p + "attention.head_count' (" + std::to_string(c.heads) +
           "): expected hidden = heads * head_dim");
  c.head_dim = c.hidden / c.heads;
  if (c.heads % c.kv_heads != 0)
    f.fail("key '" + p + "attention.head_count' (" + std::to_string(c.heads) +
           ") is not a multiple of '" + p + "attention.head_count_kv' (" +
           std::to_string(c.kv_heads) + ")");
  if (f.has(p + "rope.dimension_count")) {
    const std::int64_t rd = f.get_int(p + "rope.dimension_count");
    if (rd != c.head_dim)
      f.fail("key '" + p + "rope.dimension_count' is " + std::to_string(rd) +
             ", expected the head dimension " + std::to_string(c.head_dim) +
             " (embedding_length / head_count; partial rotary is not supported)");
  }
  const double eps = f.get_float(p + "attention.layer_norm_rms_epsilon");
  if (!std::isfinite(eps) || eps <= 0 || eps >= 1)
    f.fail("key '" + p + "attention.layer_norm_rms_epsilon' is " + std::to_string(eps) +
           " (expected a small positive number such as 1e-5)");
  c.eps = static_cast<float>(eps);
  c.rope_theta = f.get_float(p + "rope.freq_base", 10000.0);
  if (!std::isfinite(c.rope_theta) || c.rope_theta <= 1)
    f.fail("key '" + p + "rope.freq_base' is " + std::to_string(c.rope_theta) +
           " (expected a number > 1, e.g. 500000)");

  const GgufTensorInfo* embd = f.tensor("token_embd.weight");
  if (!embd) f.fail("tensor 'token_embd.weight' is missing (expected the token embedding)");
  if (f.has(p + "vocab_size")) {
    c.vocab = positive(p + "vocab_size", std::int64_t{1} << 24);
  } else {
    c.vocab = embd->dims.size() >= 2 ? embd->dims[1] : 0;  // checked with the shape below
  }
  c.tied = f.tensor("output.weight") == nullptr;
  // A `bitnet` file without any sub-norm tensor is a plain-Llama ternary model (Llama3 / Falcon3
  // 1.58-bit, see ModelConfig::sub_norms); with any of them, all are required (checked below).
  c.sub_norms = arch == "bitnet-b1.58";
  for (const auto& t : f.tensors())
    if (t.name.find("_sub_norm.") != std::string::npos) c.sub_norms = true;
  const GgufValue* name = f.find("general.name");
  c.name = name && name->type() == GgufType::kString ? name->as_string() : basename_of(f.path());
  c.description = f.path();
  cfg_ = c;

  // Every tensor the architecture needs, with the shape the config implies (SyntheticSource knows
  // the shapes of a config) and a type this loader can read.
  const SyntheticSource shapes(cfg_, 0);
  for (const auto& n : shapes.tensor_names()) {
    const GgufTensorInfo* t = f.tensor(n);
    if (!t)
      f.fail("tensor '" + n + "' is missing (expected for a " + arch + " model with " +
             std::to_string(c.layers) + " layers)");
    const auto [rows, cols] = shapes.shape(n);
    std::vector<std::int64_t> dims = t->dims;
    while (dims.size() > 1 && dims.back() == 1) dims.pop_back();
    const bool ok = rows == 1 ? dims == std::vector<std::int64_t>{cols}
                              : dims == std::vector<std::int64_t>{cols, rows};
    if (!ok)
      f.fail("tensor '" + n + "' has shape " + t->shape_str() + ", expected " +
             dims_str(rows, cols) + " (ggml order, from the " + arch + ".* hyperparameters)");
    const std::string field = "tensor '" + n + "' (" + dtype_name(t->type) + ")";
    if (is_bitlinear_weight(n)) {
      switch (t->type) {
        case DType::kI2_S: {
          float scale;
          std::memcpy(&scale, t->data + rows * cols / 4, sizeof(float));
          if (!std::isfinite(scale) || scale <= 0)
            f.fail(field + ": weight scale is " + std::to_string(scale) +
                   " (expected a finite positive float at byte " + std::to_string(rows * cols / 4) +
                   " of the tensor)");
          break;
        }
        case DType::kF32:
        case DType::kF16:
        case DType::kBF16:
          break;
        case DType::kTL1:
        case DType::kTL2:
          f.fail(field +
                 ": bitnet.cpp generates TL1/TL2 layouts for specific model shapes and this "
                 "loader does not read them; convert the model to I2_S (expected I2_S, F32, F16 or "
                 "BF16)");
        case DType::kTQ1_0:
        case DType::kTQ2_0:
          f.fail(field +
                 ": llama.cpp ternary types carry a scale per 256 weights, which the per-tensor "
                 "canonical form cannot hold exactly (expected I2_S, F32, F16 or BF16)");
        default:
          f.fail(field + ": unsupported for a BitLinear weight (expected I2_S, F32, F16 or BF16)");
      }
    } else if (rows == 1) {  // norms
      if (t->type != DType::kF32 && t->type != DType::kF16 && t->type != DType::kBF16)
        f.fail(field + ": unsupported for a norm weight (expected F32, F16 or BF16)");
      DenseTensor d = dense(n);
      const std::vector<float> v = d.to_float();
      for (std::size_t i = 0; i < v.size(); ++i)
        if (!std::isfinite(v[i]))
          f.fail(field + ": element " + std::to_string(i) + " is " + std::to_string(v[i]) +
                 " (expected finite)");
    } else {
      if (t->type != DType::kF32 && t->type != DType::kF16 && t->type != DType::kBF16 &&
          t->type != DType::kQ8_0)
        f.fail(field +
               ": unsupported for an embedding or output matrix (expected F32, F16, BF16 or Q8_0)");
    }
  }

  // The vocabulary (tokenizer.ggml.*), if the file has one.
  if (f.has("tokenizer.ggml.tokens")) {
    TokenizerSpec v;
    v.tokens = f.get_strings("tokenizer.ggml.tokens");
    const auto n = static_cast<std::int64_t>(v.tokens.size());
    if (n != c.vocab)
      f.fail("key 'tokenizer.ggml.tokens' has " + std::to_string(n) + " tokens, expected " +
             std::to_string(c.vocab) + " (the embedding's vocabulary size)");
    v.model = f.get_string("tokenizer.ggml.model");
    v.pre = f.get_string("tokenizer.ggml.pre", "");
    if (f.has("tokenizer.ggml.scores")) {
      v.scores = f.get_floats("tokenizer.ggml.scores");
      if (static_cast<std::int64_t>(v.scores.size()) != n)
        f.fail("key 'tokenizer.ggml.scores' has " + std::to_string(v.scores.size()) +
               " entries, expected " + std::to_string(n) + " (one per token)");
    }
    if (f.has("tokenizer.ggml.token_type")) {
      const auto types = f.get_ints("tokenizer.ggml.token_type");
      if (static_cast<std::int64_t>(types.size()) != n)
        f.fail("key 'tokenizer.ggml.token_type' has " + std::to_string(types.size()) +
               " entries, expected " + std::to_string(n) + " (one per token)");
      v.types.reserve(types.size());
      for (std::size_t i = 0; i < types.size(); ++i) {
        if (types[i] < 0 || types[i] > 6)
          f.fail("key 'tokenizer.ggml.token_type' element " + std::to_string(i) + " is " +
                 std::to_string(types[i]) + " (expected 0..6)");
        v.types.push_back(static_cast<TokenType>(types[i]));
      }
    }
    if (f.has("tokenizer.ggml.merges")) v.merges = f.get_strings("tokenizer.ggml.merges");
    auto id = [&](const char* key) -> std::int64_t {
      if (!f.has(key)) return -1;
      const std::int64_t x = f.get_int(key);
      if (x < 0 || x >= n)
        f.fail(std::string("key '") + key + "' is " + std::to_string(x) +
               " (expected a token id below " + std::to_string(n) + ")");
      return x;
    };
    v.bos = id("tokenizer.ggml.bos_token_id");
    v.eos = id("tokenizer.ggml.eos_token_id");
    v.unk = id("tokenizer.ggml.unknown_token_id");
    v.pad = id("tokenizer.ggml.padding_token_id");
    v.add_bos = f.get_bool("tokenizer.ggml.add_bos_token", false);
    v.add_eos = f.get_bool("tokenizer.ggml.add_eos_token", false);
    v.chat_template = f.get_string("tokenizer.chat_template", "");
    vocab_ = std::move(v);
  }
}

std::vector<std::string> GgufSource::tensor_names() const {
  return SyntheticSource(cfg_, 0).tensor_names();
}

const GgufTensorInfo& GgufSource::info(const std::string& name) const {
  const GgufTensorInfo* t = file_->tensor(name);
  if (!t) file_->fail("tensor '" + name + "' is not in the file");
  return *t;
}

bool GgufSource::has(const std::string& name) const { return file_->tensor(name) != nullptr; }

TernaryMatrix GgufSource::ternary(const std::string& name) const {
  if (!is_bitlinear_weight(name))
    throw std::invalid_argument(file_->path() + ": '" + name + "' is not a BitLinear weight");
  const GgufTensorInfo& t = info(name);
  const std::int64_t M = t.rows(), K = t.cols();
  const std::string what = file_->path() + ": tensor '" + name + "'";
  if (t.type == DType::kI2_S) {
    try {
      return i2s::decode_file(t.data, t.bytes, M, K, what);
    } catch (const std::invalid_argument& e) {
      throw GgufError(e.what());
    }
  }
  // Master weights in a float type: quantize with the training-time absmean quantizer.
  const DenseTensor d = dense(name);
  std::vector<float> w(static_cast<std::size_t>(M * K));
  for (std::int64_t r = 0; r < M; ++r) d.row_to_float(r, w.data() + r * K);
  for (std::size_t i = 0; i < w.size(); ++i)
    if (!std::isfinite(w[i]))
      throw GgufError(what + ": weight " + std::to_string(i) + " (row " + std::to_string(i / K) +
                      ") is " + std::to_string(w[i]) + " (expected finite master weights)");
  return reference::quantize_weights_absmean(w.data(), M, K);
}

void GgufSource::release(const std::string& name) const {
  if (const GgufTensorInfo* t = file_->tensor(name)) file_->release(t->data, t->bytes);
}

DenseTensor GgufSource::dense(const std::string& name) const {
  const GgufTensorInfo& t = info(name);
  if (t.type != DType::kF32 && t.type != DType::kF16 && t.type != DType::kBF16 &&
      t.type != DType::kQ8_0)
    throw GgufError(file_->path() + ": tensor '" + name + "' is " + dtype_name(t.type) +
                    ", not a dense type (expected F32, F16, BF16 or Q8_0)");
  DenseTensor d;
  d.name = name;
  d.type = t.type;
  d.rows = t.rows();
  d.cols = t.cols();
  d.data = t.data;
  d.keep = file_->mapping();
  return d;
}

}  // namespace tritbench::models
