#include "models/weights.h"

#include <cmath>
#include <cstring>
#include <stdexcept>

#include "models/f16.h"
#include "reference/rng.h"

namespace tritbench::models {

const char* dtype_name(DType t) {
  switch (t) {
    case DType::kF32: return "F32";
    case DType::kF16: return "F16";
    case DType::kQ8_0: return "Q8_0";
    case DType::kBF16: return "BF16";
    case DType::kTQ1_0: return "TQ1_0";
    case DType::kTQ2_0: return "TQ2_0";
    case DType::kI2_S: return "I2_S";
    case DType::kI8_S: return "I8_S";
    case DType::kTL1: return "TL1";
    case DType::kTL2: return "TL2";
  }
  return "unknown";
}

std::size_t DenseTensor::row_bytes() const {
  const auto c = static_cast<std::size_t>(cols);
  switch (type) {
    case DType::kF32: return c * 4;
    case DType::kF16:
    case DType::kBF16: return c * 2;
    case DType::kQ8_0: return c / 32 * 34;
    default: throw std::invalid_argument(name + ": " + dtype_name(type) + " is not a dense tensor type");
  }
}

void DenseTensor::row_to_float(std::int64_t r, float* out) const {
  const std::uint8_t* p = data + static_cast<std::size_t>(r) * row_bytes();
  switch (type) {
    case DType::kF32: std::memcpy(out, p, static_cast<std::size_t>(cols) * 4); return;
    case DType::kF16:
      for (std::int64_t i = 0; i < cols; ++i) {
        std::uint16_t h;
        std::memcpy(&h, p + 2 * i, 2);
        out[i] = f16_to_f32(h);
      }
      return;
    case DType::kBF16:
      for (std::int64_t i = 0; i < cols; ++i) {
        std::uint16_t h;
        std::memcpy(&h, p + 2 * i, 2);
        out[i] = bf16_to_f32(h);
      }
      return;
    case DType::kQ8_0:
      for (std::int64_t b = 0; b < cols / 32; ++b) {
        std::uint16_t h;
        std::memcpy(&h, p + 34 * b, 2);
        const float d = f16_to_f32(h);
        for (int i = 0; i < 32; ++i) out[b * 32 + i] = d * static_cast<std::int8_t>(p[34 * b + 2 + i]);
      }
      return;
    default: throw std::invalid_argument(name + ": " + dtype_name(type) + " is not a dense tensor type");
  }
}

std::vector<float> DenseTensor::to_float() const {
  std::vector<float> out(static_cast<std::size_t>(rows * cols));
  for (std::int64_t r = 0; r < rows; ++r) row_to_float(r, out.data() + r * cols);
  return out;
}

std::string layer_tensor(std::int64_t layer, const char* what) {
  return "blk." + std::to_string(layer) + "." + what + ".weight";
}

// ------------------------------------------------------------------------------------------------

namespace {

std::uint64_t name_hash(const std::string& s) {  // FNV-1a
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

// Parses "blk.N.what.weight" into (N, what); layer -1 for global tensors.
std::pair<std::int64_t, std::string> parse_name(const std::string& name) {
  const std::string suffix = ".weight";
  if (name.size() <= suffix.size() || name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
    return {-2, ""};
  const std::string base = name.substr(0, name.size() - suffix.size());
  if (base.rfind("blk.", 0) != 0) return {-1, base};
  const std::size_t dot = base.find('.', 4);
  if (dot == std::string::npos) return {-2, ""};
  const std::string num = base.substr(4, dot - 4);
  if (num.empty() || num.find_first_not_of("0123456789") != std::string::npos || num.size() > 9) return {-2, ""};
  return {std::stoll(num), base.substr(dot + 1)};
}

}  // namespace

SyntheticSource::SyntheticSource(ModelConfig cfg, std::uint64_t seed) : cfg_(std::move(cfg)), seed_(seed) {}

std::pair<std::int64_t, std::int64_t> SyntheticSource::shape(const std::string& name) const {
  const auto [layer, what] = parse_name(name);
  const ModelConfig& c = cfg_;
  if (layer == -1) {
    if (what == "token_embd") return {c.vocab, c.hidden};
    if (what == "output_norm") return {1, c.hidden};
    if (what == "output" && !c.tied) return {c.vocab, c.hidden};
  } else if (layer >= 0 && layer < c.layers) {
    if (what == "attn_q") return {c.q_dim(), c.hidden};
    if (what == "attn_k" || what == "attn_v") return {c.kv_dim(), c.hidden};
    if (what == "attn_output") return {c.hidden, c.q_dim()};
    if (what == "ffn_gate" || what == "ffn_up") return {c.ffn, c.hidden};
    if (what == "ffn_down") return {c.hidden, c.ffn};
    if (what == "attn_norm" || what == "ffn_norm") return {1, c.hidden};
    if (what == "attn_sub_norm") return {1, c.q_dim()};
    if (what == "ffn_sub_norm") return {1, c.ffn};
  }
  throw std::invalid_argument("synthetic model " + c.name + ": no tensor named '" + name + "'");
}

bool SyntheticSource::has(const std::string& name) const {
  try {
    shape(name);
    return true;
  } catch (const std::invalid_argument&) {
    return false;
  }
}

std::vector<std::string> SyntheticSource::tensor_names() const {
  std::vector<std::string> n = {"token_embd.weight"};
  for (std::int64_t l = 0; l < cfg_.layers; ++l)
    for (const char* w : {"attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "attn_sub_norm",
                          "ffn_norm", "ffn_gate", "ffn_up", "ffn_down", "ffn_sub_norm"})
      n.push_back(layer_tensor(l, w));
  n.push_back("output_norm.weight");
  if (!cfg_.tied) n.push_back("output.weight");
  return n;
}

TernaryMatrix SyntheticSource::ternary(const std::string& name) const {
  const auto [layer, what] = parse_name(name);
  bool is_ternary = false;
  for (const char* t : kTernaryTensors) is_ternary |= what == t;
  if (layer < 0 || !is_ternary)
    throw std::invalid_argument("synthetic model " + cfg_.name + ": '" + name + "' is not a BitLinear weight");
  const auto [M, K] = shape(name);
  Rng rng(seed_ ^ name_hash(name));
  TernaryMatrix t;
  t.M = M;
  t.K = K;
  t.w.resize(static_cast<std::size_t>(M * K));
  // Trits drawn from the bits of 64-bit words by repeated multiplication by 3 (each step takes the
  // integer part as the trit): 40 near-uniform trits per word, about a third of them zero.
  __extension__ using u128 = unsigned __int128;
  std::int8_t* w = t.w.data();
  const std::int64_t n = M * K;
  for (std::int64_t i = 0; i < n;) {
    std::uint64_t x = rng.next();
    for (int j = 0; j < 40 && i < n; ++j, ++i) {
      const u128 p = static_cast<u128>(x) * 3;
      w[i] = static_cast<std::int8_t>(static_cast<int>(p >> 64) - 1);
      x = static_cast<std::uint64_t>(p);
    }
  }
  // An absmean scale that keeps activations near unit RMS: var(y) = scale^2 * (2/3) * K * var(x).
  t.scale = static_cast<float>((0.8 + 0.4 * rng.uniform()) / std::sqrt(2.0 * static_cast<double>(K) / 3.0));
  return t;
}

DenseTensor SyntheticSource::dense(const std::string& name) const {
  const auto [rows, cols] = shape(name);
  const auto [layer, what] = parse_name(name);
  for (const char* t : kTernaryTensors)
    if (what == t) throw std::invalid_argument("synthetic model: '" + name + "' is ternary, not dense");
  Rng rng(seed_ ^ name_hash(name));
  DenseTensor d;
  d.name = name;
  d.rows = rows;
  d.cols = cols;
  if (rows == 1) {  // norm weights near 1
    auto v = std::make_shared<std::vector<float>>(static_cast<std::size_t>(cols));
    for (auto& x : *v) x = static_cast<float>(0.9 + 0.2 * rng.uniform());
    d.type = DType::kF32;
    d.data = reinterpret_cast<const std::uint8_t*>(v->data());
    d.keep = v;
    return d;
  }
  // Embedding / output matrix: F16, uniform with standard deviation 0.02 (4 values per draw).
  auto v = std::make_shared<std::vector<std::uint16_t>>(static_cast<std::size_t>(rows * cols));
  const double half_width = 0.02 * std::sqrt(3.0);
  std::uint16_t* p = v->data();
  const std::int64_t n = rows * cols;
  for (std::int64_t i = 0; i < n; i += 4) {
    std::uint64_t x = rng.next();
    for (int j = 0; j < 4 && i + j < n; ++j, x >>= 16) {
      const double u = (static_cast<double>(x & 0xffff) + 0.5) / 65536.0;
      p[i + j] = f32_to_f16(static_cast<float>((2 * u - 1) * half_width));
    }
  }
  d.type = DType::kF16;
  d.data = reinterpret_cast<const std::uint8_t*>(v->data());
  d.keep = v;
  return d;
}

std::string SyntheticSource::describe() const {
  return "synthetic:" + cfg_.name + ":seed=" + std::to_string(seed_);
}

}  // namespace tritbench::models
