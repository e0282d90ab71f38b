#include "models/weights.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string_view>

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

bool is_bitlinear_weight(const std::string& name) {
  const auto [layer, what] = parse_name(name);
  if (layer < 0) return false;
  for (const char* t : kTernaryTensors)
    if (what == t) return true;
  return false;
}

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
    if (what == "attn_sub_norm" && c.sub_norms) return {1, c.q_dim()};
    if (what == "ffn_sub_norm" && c.sub_norms) return {1, c.ffn};
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
      if (cfg_.sub_norms || std::string_view(w).find("sub_norm") == std::string_view::npos)
        n.push_back(layer_tensor(l, w));
  n.push_back("output_norm.weight");
  if (!cfg_.tied) n.push_back("output.weight");
  return n;
}

namespace {

bool is_ternary_tensor(const std::string& what) {
  for (const char* t : kTernaryTensors)
    if (what == t) return true;
  return false;
}

void check_range(const std::string& name, std::int64_t i0, std::int64_t i1, std::int64_t n,
                 std::int64_t multiple) {
  if (i0 < 0 || i1 < i0 || i1 > n || i0 % multiple != 0)
    throw std::invalid_argument("synthetic tensor '" + name + "': range [" + std::to_string(i0) +
                                ", " + std::to_string(i1) + ") is not within [0, " +
                                std::to_string(n) + ") with a start that is a multiple of " +
                                std::to_string(multiple));
}

}  // namespace

void SyntheticSource::ternary_range(const std::string& name, std::int64_t i0, std::int64_t i1,
                                    std::int8_t* out) const {
  const auto [layer, what] = parse_name(name);
  if (layer < 0 || !is_ternary_tensor(what))
    throw std::invalid_argument("synthetic model " + cfg_.name + ": '" + name + "' is not a BitLinear weight");
  const auto [M, K] = shape(name);
  check_range(name, i0, i1, M * K, kTritsPerDraw);
  Rng rng(seed_ ^ name_hash(name));
  rng.discard(static_cast<std::uint64_t>(i0 / kTritsPerDraw));
  // Trits drawn from the bits of 64-bit words by repeated multiplication by 3, each step taking the
  // integer part (the high word of x * 3) as the trit and keeping the fraction (the low word): 40
  // near-uniform trits per word, about a third of them zero. Five steps at once are one
  // multiplication by 3^5 = 243: by induction, the high word of x * 3^k is the k trits as a base-3
  // number (most significant first) and the low word is what k single steps leave, so a whole word
  // is 8 multiplications and 8 lookups of 5 trits. Partial words take single steps.
  __extension__ using u128 = unsigned __int128;
  static const std::vector<std::array<std::int8_t, 5>> five = [] {
    std::vector<std::array<std::int8_t, 5>> t(243);
    for (int v = 0; v < 243; ++v)
      for (int d = 4, r = v; d >= 0; --d, r /= 3) t[v][d] = static_cast<std::int8_t>(r % 3 - 1);
    return t;
  }();
  std::int8_t* w = out;
  for (std::int64_t i = i0; i < i1;) {
    std::uint64_t x = rng.next();
    if (i1 - i >= kTritsPerDraw) {
      for (int g = 0; g < 8; ++g, w += 5) {
        const u128 p = static_cast<u128>(x) * 243;
        std::memcpy(w, five[static_cast<std::size_t>(p >> 64)].data(), 5);
        x = static_cast<std::uint64_t>(p);
      }
      i += kTritsPerDraw;
      continue;
    }
    for (; i < i1; ++i, ++w) {
      const u128 p = static_cast<u128>(x) * 3;
      *w = static_cast<std::int8_t>(static_cast<int>(p >> 64) - 1);
      x = static_cast<std::uint64_t>(p);
    }
  }
}

float SyntheticSource::ternary_scale(const std::string& name) const {
  const auto [M, K] = shape(name);
  Rng rng(seed_ ^ name_hash(name));
  rng.discard(static_cast<std::uint64_t>((M * K + kTritsPerDraw - 1) / kTritsPerDraw));
  // An absmean scale that keeps activations near unit RMS: var(y) = scale^2 * (2/3) * K * var(x).
  return static_cast<float>((0.8 + 0.4 * rng.uniform()) / std::sqrt(2.0 * static_cast<double>(K) / 3.0));
}

TernaryMatrix SyntheticSource::ternary(const std::string& name) const {
  TernaryMatrix t;
  ternary_into(name, t);
  return t;
}

void SyntheticSource::ternary_into(const std::string& name, TernaryMatrix& out) const {
  const auto [M, K] = shape(name);
  out.M = M;
  out.K = K;
  out.w.resize(static_cast<std::size_t>(M * K));  // every value is overwritten below
  ternary_range(name, 0, M * K, out.w.data());
  out.scale = ternary_scale(name);
}

void SyntheticSource::matrix_f16_range(const std::string& name, std::int64_t i0, std::int64_t i1,
                                       std::uint16_t* out) const {
  const auto [rows, cols] = shape(name);
  const auto [layer, what] = parse_name(name);
  if (layer != -1 || rows == 1)
    throw std::invalid_argument("synthetic model " + cfg_.name + ": '" + name +
                                "' is not an F16 matrix (embedding or output)");
  check_range(name, i0, i1, rows * cols, kF16PerDraw);
  Rng rng(seed_ ^ name_hash(name));
  rng.discard(static_cast<std::uint64_t>(i0 / kF16PerDraw));
  // Uniform with standard deviation 0.02, four 16-bit fractions per draw. Each value is a function
  // of its 16 random bits only, so it is looked up in a table of all 65536 (a 2B-4T embedding has
  // 328M values; converting each through double and f32_to_f16 took most of `synth`'s time).
  static const std::vector<std::uint16_t> table = [] {
    std::vector<std::uint16_t> t(65536);
    const double half_width = 0.02 * std::sqrt(3.0);
    for (std::uint32_t b = 0; b < 65536; ++b) {
      const double u = (static_cast<double>(b) + 0.5) / 65536.0;
      t[b] = f32_to_f16(static_cast<float>((2 * u - 1) * half_width));
    }
    return t;
  }();
  const std::uint16_t* lut = table.data();
  for (std::int64_t i = i0; i < i1; i += kF16PerDraw) {
    std::uint64_t x = rng.next();
    for (std::int64_t j = 0; j < kF16PerDraw && i + j < i1; ++j, x >>= 16) *out++ = lut[x & 0xffff];
  }
}

DenseTensor SyntheticSource::dense(const std::string& name) const {
  const auto [rows, cols] = shape(name);
  const auto [layer, what] = parse_name(name);
  if (is_ternary_tensor(what))
    throw std::invalid_argument("synthetic model: '" + name + "' is ternary, not dense");
  DenseTensor d;
  d.name = name;
  d.rows = rows;
  d.cols = cols;
  if (rows == 1) {  // norm weights near 1
    Rng rng(seed_ ^ name_hash(name));
    auto v = std::make_shared<std::vector<float>>(static_cast<std::size_t>(cols));
    for (auto& x : *v) x = static_cast<float>(0.9 + 0.2 * rng.uniform());
    d.type = DType::kF32;
    d.data = reinterpret_cast<const std::uint8_t*>(v->data());
    d.keep = v;
    return d;
  }
  // Embedding / output matrix: F16.
  auto v = std::make_shared<std::vector<std::uint16_t>>(static_cast<std::size_t>(rows * cols));
  matrix_f16_range(name, 0, rows * cols, v->data());
  d.type = DType::kF16;
  d.data = reinterpret_cast<const std::uint8_t*>(v->data());
  d.keep = v;
  return d;
}

WeightSource::RowReader SyntheticSource::row_reader(const std::string& name) const {
  const auto [rows, cols] = shape(name);
  const auto [layer, what] = parse_name(name);
  if (is_ternary_tensor(what) || rows == 1 || cols % kF16PerDraw != 0)
    return WeightSource::row_reader(name);
  // A copy of the generator (the vocabulary left out): the reader may outlive this source.
  auto gen = std::make_shared<const SyntheticSource>(cfg_, seed_);
  return [gen, name, cols](std::int64_t r, float* out) {
    std::vector<std::uint16_t> h(static_cast<std::size_t>(cols));
    gen->matrix_f16_range(name, r * cols, (r + 1) * cols, h.data());
    for (std::int64_t i = 0; i < cols; ++i) out[i] = f16_to_f32(h[static_cast<std::size_t>(i)]);
  };
}

std::string SyntheticSource::describe() const {
  return "synthetic:" + cfg_.name + ":seed=" + std::to_string(seed_);
}

}  // namespace tritbench::models
