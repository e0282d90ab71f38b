#include "reference/forward.h"

#include <cmath>

#include "reference/quantize.h"

namespace tritbench::reference {

namespace {

std::vector<double> as_double(const models::DenseTensor& t) {
  const std::vector<float> f = t.to_float();
  return {f.begin(), f.end()};
}

std::vector<double> rms_norm(const std::vector<double>& x, const std::vector<double>& w, double eps) {
  double ss = 0;
  for (double v : x) ss += v * v;
  const double s = 1.0 / std::sqrt(ss / static_cast<double>(x.size()) + eps);
  std::vector<double> y(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) y[i] = x[i] * s * w[i];
  return y;
}

}  // namespace

ReferenceModel::ReferenceModel(const models::WeightSource& src) : cfg_(src.config()) {
  auto linear = [&](std::int64_t l, const char* what) {
    TernaryMatrix t = src.ternary(models::layer_tensor(l, what));
    return Linear{t.M, t.K, std::move(t.w), static_cast<double>(t.scale)};
  };
  for (std::int64_t l = 0; l < cfg_.layers; ++l) {
    Block b;
    b.attn_norm = as_double(src.dense(models::layer_tensor(l, "attn_norm")));
    if (cfg_.sub_norms) b.attn_sub_norm = as_double(src.dense(models::layer_tensor(l, "attn_sub_norm")));
    b.ffn_norm = as_double(src.dense(models::layer_tensor(l, "ffn_norm")));
    if (cfg_.sub_norms) b.ffn_sub_norm = as_double(src.dense(models::layer_tensor(l, "ffn_sub_norm")));
    b.q = linear(l, "attn_q");
    b.k = linear(l, "attn_k");
    b.v = linear(l, "attn_v");
    b.o = linear(l, "attn_output");
    b.gate = linear(l, "ffn_gate");
    b.up = linear(l, "ffn_up");
    b.down = linear(l, "ffn_down");
    blocks_.push_back(std::move(b));
  }
  embd_ = as_double(src.dense("token_embd.weight"));
  out_ = src.has("output.weight") ? as_double(src.dense("output.weight")) : embd_;
  output_norm_ = as_double(src.dense("output_norm.weight"));
}

// W1.58A8: the activation row is quantized by the one shared quantizer (on its float value, as the
// model computes it), the dot product is exact in integers, and the scales are applied in double.
std::vector<double> ReferenceModel::bitlinear(const Linear& L, const std::vector<double>& x) const {
  std::vector<float> xf(x.begin(), x.end());
  std::vector<std::int8_t> q(xf.size());
  float s;
  std::int32_t sum;
  quantize_row_scalar(xf.data(), L.K, q.data(), &s, &sum);
  std::vector<double> y(static_cast<std::size_t>(L.M));
  for (std::int64_t m = 0; m < L.M; ++m) {
    std::int64_t acc = 0;
    for (std::int64_t k = 0; k < L.K; ++k) acc += L.w[m * L.K + k] * q[k];
    y[m] = static_cast<double>(acc) / s * L.scale;
  }
  return y;
}

std::vector<double> ReferenceModel::logits(const std::vector<std::int32_t>& tokens) const {
  const models::ModelConfig& c = cfg_;
  const auto n = static_cast<std::int64_t>(tokens.size());
  const std::int64_t d = c.head_dim, H = c.hidden;
  std::vector<std::vector<double>> x(n);
  for (std::int64_t t = 0; t < n; ++t) x[t].assign(embd_.begin() + tokens[t] * H, embd_.begin() + (tokens[t] + 1) * H);

  // Rotate pairs (i, i + d/2) of each head by pos * theta^(-2i/d) (NEOX style).
  auto rope = [&](std::vector<double>& v, std::int64_t heads, std::int64_t pos) {
    for (std::int64_t h = 0; h < heads; ++h)
      for (std::int64_t i = 0; i < d / 2; ++i) {
        const double a = static_cast<double>(pos) * std::pow(c.rope_theta, -2.0 * static_cast<double>(i) / static_cast<double>(d));
        double& x0 = v[h * d + i];
        double& x1 = v[h * d + i + d / 2];
        const double r0 = x0 * std::cos(a) - x1 * std::sin(a), r1 = x0 * std::sin(a) + x1 * std::cos(a);
        x0 = r0;
        x1 = r1;
      }
  };

  for (const Block& b : blocks_) {
    std::vector<std::vector<double>> Q(n), K(n), V(n);
    for (std::int64_t t = 0; t < n; ++t) {
      const auto h = rms_norm(x[t], b.attn_norm, c.eps);
      Q[t] = bitlinear(b.q, h);
      K[t] = bitlinear(b.k, h);
      V[t] = bitlinear(b.v, h);
      rope(Q[t], c.heads, t);
      rope(K[t], c.kv_heads, t);
    }
    for (std::int64_t t = 0; t < n; ++t) {
      std::vector<double> att(static_cast<std::size_t>(c.heads * d), 0.0);
      for (std::int64_t h = 0; h < c.heads; ++h) {
        const std::int64_t kvh = h / (c.heads / c.kv_heads);
        std::vector<double> w(static_cast<std::size_t>(t + 1));
        double mx = -INFINITY;
        for (std::int64_t j = 0; j <= t; ++j) {
          double dot = 0;
          for (std::int64_t i = 0; i < d; ++i) dot += Q[t][h * d + i] * K[j][kvh * d + i];
          w[j] = dot / std::sqrt(static_cast<double>(d));
          mx = std::max(mx, w[j]);
        }
        double sum = 0;
        for (auto& v : w) sum += (v = std::exp(v - mx));
        for (std::int64_t j = 0; j <= t; ++j)
          for (std::int64_t i = 0; i < d; ++i) att[h * d + i] += w[j] / sum * V[j][kvh * d + i];
      }
      const auto o = bitlinear(b.o, c.sub_norms ? rms_norm(att, b.attn_sub_norm, c.eps) : att);
      for (std::int64_t i = 0; i < H; ++i) x[t][i] += o[i];
    }
    for (std::int64_t t = 0; t < n; ++t) {
      const auto h = rms_norm(x[t], b.ffn_norm, c.eps);
      auto g = bitlinear(b.gate, h);
      const auto u = bitlinear(b.up, h);
      for (std::size_t i = 0; i < g.size(); ++i) {
        const double a = c.act == models::Activation::kReluSquared ? (g[i] > 0 ? g[i] * g[i] : 0.0)
                                                                    : g[i] / (1.0 + std::exp(-g[i]));
        g[i] = a * u[i];
      }
      const auto y = bitlinear(b.down, c.sub_norms ? rms_norm(g, b.ffn_sub_norm, c.eps) : g);
      for (std::int64_t i = 0; i < H; ++i) x[t][i] += y[i];
    }
  }
  const auto h = rms_norm(x[n - 1], output_norm_, c.eps);
  std::vector<double> out(static_cast<std::size_t>(c.vocab));
  for (std::int64_t r = 0; r < c.vocab; ++r) {
    double s = 0;
    for (std::int64_t i = 0; i < H; ++i) s += out_[r * H + i] * h[i];
    out[r] = s;
  }
  return out;
}

}  // namespace tritbench::reference
