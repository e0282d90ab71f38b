// End to end: the fast forward pass against the reference, across kernels and thread counts.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include "harness/lib/e2e_bench.h"
#include "harness/lib/e2e_check.h"
#include "harness/lib/roofline.h"
#include "kernels/cpu/cpu.h"
#include "kernels/registry.h"
#include "models/f16.h"
#include "models/ops.h"
#include "models/output.h"
#include "models/transformer.h"
#include "reference/forward.h"

namespace tritbench {
namespace {

std::vector<const KernelInfo*> all_rows() {
  std::vector<const KernelInfo*> v;
  for (const auto& k : registry()) v.push_back(&k);
  return v;
}

TEST(E2e, EveryExactKernelBitIdenticalAndMatchesReference) {
  for (const char* preset : {"tiny", "tiny-silu"}) {
    models::SyntheticSource src(*models::find_preset(preset), 1);
    const auto rep = check::check_e2e(src, check::default_prompt(src.config().vocab, 8), 32, all_rows(), {1, 2});
    for (const auto& r : rep.runs) {
      EXPECT_TRUE(r.error.empty()) << preset << " " << r.kernel << ": " << r.error;
      if (!r.exact) continue;
      EXPECT_TRUE(r.identical_to_baseline) << preset << " " << r.kernel << " t=" << r.threads << ": " << r.first_difference;
      EXPECT_TRUE(r.tokens_match_reference) << preset << " " << r.kernel << " diverges at " << r.reference_divergence_step;
      EXPECT_LE(r.worst_nmse, check::kE2eNmseBound) << preset << " " << r.kernel;
    }
    EXPECT_TRUE(rep.pass) << preset;
  }
}

// The reference must see graph errors the kernels cannot: a source whose config swaps the FFN
// activation, fed to the reference only, must be far outside the bound.
class SwappedActivation : public models::WeightSource {
 public:
  explicit SwappedActivation(const models::WeightSource& s) : s_(s), cfg_(s.config()) {
    cfg_.act = cfg_.act == models::Activation::kSilu ? models::Activation::kReluSquared : models::Activation::kSilu;
  }
  const models::ModelConfig& config() const override { return cfg_; }
  TernaryMatrix ternary(const std::string& n) const override { return s_.ternary(n); }
  models::DenseTensor dense(const std::string& n) const override { return s_.dense(n); }
  bool has(const std::string& n) const override { return s_.has(n); }
  std::string describe() const override { return "swapped"; }

 private:
  const models::WeightSource& s_;
  models::ModelConfig cfg_;
};

TEST(E2e, ReferenceCatchesAWrongActivation) {
  models::SyntheticSource src(*models::find_preset("tiny"), 1);
  const auto prompt = check::default_prompt(src.config().vocab, 8);
  reference::ReferenceModel wrong(SwappedActivation{src});
  const auto ref = wrong.logits(prompt);
  ThreadPool pool(1);
  models::Transformer tf(src, *find_kernel("naive__scalar"), pool,
                         {.context = 16, .output = models::OutputType::kAsStored});
  std::vector<float> l(static_cast<std::size_t>(src.config().vocab));
  tf.prefill(prompt, 0, l.data());
  double err2 = 0, ref2 = 0;
  for (std::size_t i = 0; i < l.size(); ++i) {
    err2 += (l[i] - ref[i]) * (l[i] - ref[i]);
    ref2 += ref[i] * ref[i];
  }
  EXPECT_GT(err2 / ref2, 1e-2);
}

TEST(E2e, BatchedPrefillAgreesWithOneTokenAtATime) {
  models::SyntheticSource src(*models::find_preset("tiny"), 3);
  ThreadPool pool(2);
  models::Transformer tf(src, *resolve_kernels("i2s").at(0), pool,
                         {.context = 64, .output = models::OutputType::kAsStored});
  const auto prompt = check::default_prompt(src.config().vocab, 20);
  std::vector<float> a(static_cast<std::size_t>(src.config().vocab)), b(a.size()), c(a.size());
  tf.prefill(prompt, 0, a.data());
  tf.reset();
  tf.prefill(prompt, 1, b.data());
  tf.reset();
  tf.prefill(prompt, 7, c.data());
  double err_b = 0, err_c = 0, ref2 = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    err_b += (a[i] - b[i]) * (a[i] - b[i]);
    err_c += (a[i] - c[i]) * (a[i] - c[i]);
    ref2 += a[i] * a[i];
  }
  // Same arithmetic up to the attention's float summation order.
  EXPECT_LT(err_b / ref2, 1e-8);
  EXPECT_LT(err_c / ref2, 1e-8);
  EXPECT_EQ(tf.position(), 20);
}

// A model that cannot fit is refused before anything is packed, with the figures, instead of being
// killed by the OOM killer after minutes of packing (a 100B model on a 24 GiB machine did that).
TEST(E2e, ModelThatDoesNotFitIsRefusedWithItsFigures) {
  models::SyntheticSource src(*models::find_preset("small"), 1);
  ThreadPool pool(2);
  const KernelInfo& k = *find_kernel("i2s__scalar");
  const models::MemoryPlan plan = models::plan_memory(src.config(), k, 64, 2);
  std::vector<std::int64_t> layers;
  models::Transformer fits(src, k, pool,
                           {.context = 64,
                            .memory_limit = plan.total(),
                            .on_layer = [&](std::int64_t done, std::int64_t n) {
                              layers.push_back(done);
                              EXPECT_EQ(n, src.config().layers);
                            }});
  EXPECT_EQ(layers.size(), static_cast<std::size_t>(src.config().layers));
  EXPECT_EQ(layers.back(), src.config().layers);
  // The plan's packed bytes bound the real ones, within 5%.
  EXPECT_GE(plan.packed, static_cast<std::int64_t>(fits.packed_bytes()));
  EXPECT_LE(static_cast<double>(plan.packed), 1.05 * static_cast<double>(fits.packed_bytes()));
  // Keys and values, floats, every layer, 64 positions: what the cache holds, from the config.
  const models::ModelConfig& c = src.config();
  EXPECT_EQ(plan.kv, 2 * c.layers * 64 * c.kv_heads * c.head_dim * 4);
  EXPECT_EQ(plan.kv, static_cast<std::int64_t>(fits.kv_bytes()));
  try {
    models::Transformer tf(src, k, pool, {.context = 64, .memory_limit = plan.total() - 1});
    FAIL() << "a model over the memory limit was packed";
  } catch (const models::InsufficientMemory& e) {
    const std::string msg = e.what();
    for (const char* part : {"synthetic:small", "does not fit with i2s__scalar", "packed weights",
                             "2.00 bits per weight", "64 positions", "is the limit"})
      EXPECT_NE(msg.find(part), std::string::npos) << part << " missing from: " << msg;
  }
  // 100B at 2 bits per weight: 25 GB and a little padding.
  const models::MemoryPlan big = models::plan_memory(*models::find_preset("100b"), k, 4096, 2);
  const double ternary = static_cast<double>(models::find_preset("100b")->ternary_params());
  EXPECT_GE(static_cast<double>(big.packed), ternary / 4);
  EXPECT_LE(static_cast<double>(big.packed), 1.04 * ternary / 4);
}

TEST(E2e, BadInputIsRefused) {
  models::SyntheticSource src(*models::find_preset("tiny"), 1);
  ThreadPool pool(1);
  models::Transformer tf(src, *find_kernel("i2s__scalar"), pool,
                         {.context = 4, .output = models::OutputType::kAsStored});
  std::vector<float> l(static_cast<std::size_t>(src.config().vocab));
  EXPECT_THROW(tf.decode(static_cast<std::int32_t>(src.config().vocab), l.data()), std::invalid_argument);
  EXPECT_THROW(tf.decode(-1, l.data()), std::invalid_argument);
  const std::vector<std::int32_t> five = {1, 2, 3, 4, 5};
  try {
    tf.prefill(five, 0, l.data());
    FAIL() << "context overflow accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("KV cache of 4"), std::string::npos) << e.what();
  }
}

// A generation row whose weights fit in the last-level cache says so (fits_llc), and tables mark
// its "% of the read roofline" with '*': after the first token it can be served from cache, so the
// DRAM ceiling does not bind (the quickstart's 124M model showed 103-118% unmarked).
TEST(E2eBench, RowsThatFitTheLlcAreMarked) {
  roofline::Roofline roof;
  roof.machine = roofline::this_machine();
  roofline::Ceilings c;
  c.read_gbps = c.read_one_stream_gbps = c.read_two_streams_gbps = c.read_four_streams_gbps = 10.0;
  c.int8_gops = {{"scalar", 50.0}};
  roof.by_threads.push_back(c);
  e2e::Options o;
  o.kernels = {find_kernel("i2s__scalar")};
  o.prompts = {0};
  o.gens = {2};
  o.threads = {1};
  o.repetitions = 1;
  o.roofline = &roof;
  const auto src = e2e::open_model("synthetic:tiny", 1);
  const auto rows = e2e::run(*src, o, [](const std::string&, bool) {});
  ASSERT_EQ(rows.size(), 1u);
  const auto& r = rows[0];
  const std::int64_t llc = cpu_info().last_level_cache_bytes();
  const bool fits = llc > 0 && r["packed_bytes"].get<double>() + r["output_bytes"].get<double>() <= double(llc);
  EXPECT_EQ(r["fits_llc"].get<bool>(), fits);
  EXPECT_EQ(r["roofline_bound"], "read");
  EXPECT_EQ(e2e::roof_cell(r).back() == '*', fits) << e2e::roof_cell(r);
  EXPECT_TRUE(parse_isa(r["output_isa"].get<std::string>())) << r["output_isa"];

  nlohmann::json row = {{"roofline_fraction", 1.1}, {"roofline_bound", "read"}, {"fits_llc", true}};
  EXPECT_EQ(e2e::roof_cell(row), "110 read*");
  row["fits_llc"] = false;
  EXPECT_EQ(e2e::roof_cell(row), "110 read");
  row = {{"roofline_fraction", 0.3}, {"roofline_bound", "avx512vnni"}, {"fits_llc", true}};
  EXPECT_EQ(e2e::roof_cell(row), "30 avx512vnni") << "a compute bound is not about the cache";
  EXPECT_EQ(e2e::roof_cell({{"roofline_fraction", nullptr}}), "-");
}

// A kernel the model does not fit with is skipped, not fatal, and the skip is reported with its
// reason (experiments write these rows to their result files).
TEST(E2eBench, AKernelThatDoesNotFitIsReportedAsSkipped) {
  e2e::Options o;
  o.kernels = {find_kernel("i2s__scalar"), find_kernel("naive__scalar")};
  o.prompts = {0};
  o.gens = {1};
  o.threads = {1};
  o.repetitions = 1;
  o.memory_limit = 1;
  const auto src = e2e::open_model("synthetic:tiny", 1);
  const e2e::Progress quiet = [](const std::string&, bool) {};
  std::vector<nlohmann::json> skipped;
  const auto rows = e2e::run(*src, o, quiet, nullptr, &skipped);
  EXPECT_TRUE(rows.empty());
  ASSERT_EQ(skipped.size(), 2u);
  EXPECT_EQ(skipped[0]["model"], "tiny");
  EXPECT_EQ(skipped[0]["kernel"], "i2s__scalar");
  EXPECT_EQ(skipped[1]["kernel"], "naive__scalar");
  EXPECT_NE(skipped[0]["reason"].get<std::string>().find("does not fit"), std::string::npos)
      << skipped[0]["reason"];
  o.memory_limit = -1;
  skipped.clear();
  EXPECT_EQ(e2e::run(*src, o, quiet, nullptr, &skipped).size(), 2u);
  EXPECT_TRUE(skipped.empty());
}

TEST(Output, TypesAgreeWithinTheirPrecision) {
  models::SyntheticSource src(*models::find_preset("tiny-silu"), 2);  // untied: has output.weight
  const models::DenseTensor w = src.dense("output.weight");
  ThreadPool pool(2);
  std::vector<float> h(static_cast<std::size_t>(w.cols));
  for (std::size_t i = 0; i < h.size(); ++i) h[i] = std::sin(0.37f * static_cast<float>(i));
  std::vector<double> exact(static_cast<std::size_t>(w.rows));
  std::vector<float> row(static_cast<std::size_t>(w.cols));
  for (std::int64_t r = 0; r < w.rows; ++r) {
    w.row_to_float(r, row.data());
    double s = 0;
    for (std::int64_t i = 0; i < w.cols; ++i) s += static_cast<double>(row[i]) * h[i];
    exact[r] = s;
  }
  for (auto [type, tol] : {std::pair{models::OutputType::kF16, 1e-10}, {models::OutputType::kF32, 1e-10},
                           {models::OutputType::kQ8_0, 1e-3}}) {
    models::OutputMatrix m(w, type);
    std::vector<float> out(static_cast<std::size_t>(w.rows));
    m.logits(h.data(), out.data(), pool);
    double err2 = 0, ref2 = 0;
    for (std::size_t r = 0; r < out.size(); ++r) {
      err2 += (out[r] - exact[r]) * (out[r] - exact[r]);
      ref2 += exact[r] * exact[r];
    }
    EXPECT_LT(err2 / ref2, tol) << models::output_type_name(type);
  }
}

namespace {
// Logits on 1, 2 and 3 threads; the last entry holds the logits of 2 and 3 threads at uneven
// shares (as ThreadPool::run_balanced cuts rows for threads of different speeds) when they equal
// the first, else the first that differs.
std::vector<std::vector<float>> logits_on_1_2_3_threads(const models::OutputMatrix& m,
                                                        const std::vector<float>& h) {
  std::vector<std::vector<float>> outs;
  auto logits = [&](const std::vector<double>& shares) {
    ThreadPool pool(static_cast<int>(shares.size()));
    pool.set_shares(shares);
    std::vector<float> out(static_cast<std::size_t>(m.rows()), -1.0f);
    m.logits(h.data(), out.data(), pool);
    return out;
  };
  for (int threads : {1, 2, 3})
    outs.push_back(logits(std::vector<double>(static_cast<std::size_t>(threads), 1.0)));
  outs.push_back(outs[0]);
  for (const std::vector<double>& sh :
       std::vector<std::vector<double>>{{1, 3}, {3, 1}, {1, 2, 5}}) {
    auto out = logits(sh);
    if (out != outs[0]) {
      outs.back() = out;
      break;
    }
  }
  return outs;
}
}  // namespace

// Shapes that exercise the padding of the interleaved layout (rows not a multiple of the group,
// columns not a multiple of the slice, a single partial slice): every row within F16/F32 rounding
// of a double dot product, and the same bits on 1, 2 and 3 threads.
TEST(Output, OddShapesAreExactAndThreadIndependent) {
  for (auto [rows, cols] : {std::pair<std::int64_t, std::int64_t>{37, 70}, {5, 13}, {130, 48}, {1, 32}}) {
    std::vector<std::uint16_t> f16(static_cast<std::size_t>(rows * cols));
    for (std::size_t i = 0; i < f16.size(); ++i)
      f16[i] = f32_to_f16(std::cos(0.11f * static_cast<float>(i)) * (1.0f + static_cast<float>(i % 7)));
    models::DenseTensor w;
    w.name = "output.weight";
    w.type = models::DType::kF16;
    w.rows = rows;
    w.cols = cols;
    w.data = reinterpret_cast<const std::uint8_t*>(f16.data());
    std::vector<float> h(static_cast<std::size_t>(cols));
    for (std::size_t i = 0; i < h.size(); ++i) h[i] = std::sin(0.37f * static_cast<float>(i)) - 0.2f;
    for (auto [type, cap] : {std::pair{models::OutputType::kF16, Isa::kAvx512},
                             {models::OutputType::kF32, Isa::kAvx512},
                             {models::OutputType::kF16, Isa::kAvx2},
                             {models::OutputType::kF32, Isa::kScalar}}) {
      if (!isa_runnable(cap)) continue;
      models::OutputMatrix m(w, type, cap);
      ASSERT_EQ(m.isa(), cap);
      const auto outs = logits_on_1_2_3_threads(m, h);
      for (std::int64_t r = 0; r < rows; ++r) {
        double s = 0, mag = 0;
        for (std::int64_t i = 0; i < cols; ++i) {
          const double v = static_cast<double>(f16_to_f32(f16[static_cast<std::size_t>(r * cols + i)])) * h[i];
          s += v;
          mag += std::fabs(v);
        }
        EXPECT_NEAR(outs[0][r], s, 1e-6 * mag + 1e-30) << rows << "x" << cols << " row " << r;
      }
      EXPECT_EQ(outs[0], outs[1]) << rows << "x" << cols << " " << models::output_type_name(type)
                                  << " " << isa_name(cap);
      EXPECT_EQ(outs[0], outs[2]) << rows << "x" << cols << " " << models::output_type_name(type)
                                  << " " << isa_name(cap);
      EXPECT_EQ(outs[0], outs[3]) << rows << "x" << cols << " " << models::output_type_name(type)
                                  << " " << isa_name(cap) << ", uneven shares";
    }
  }
}

// Q8_0 matrices as a file may hold them (every quant from -128 to 127, scales of either sign) in
// shapes that exercise the VNNI layout's padding (rows not a multiple of 16, an odd number of
// blocks): the scalar and VNNI GEMVs give exactly the bits of the defined per-row arithmetic
// (blocks in order, fma(float(exact integer dot), d_w * d_h, acc)), the AVX2 GEMV (another float
// order) is within float rounding of it, and every path gives the same bits on 1, 2 and 3 threads.
TEST(Output, Q8_0PathsComputeTheDefinedArithmeticForEveryQuant) {
  for (auto [rows, cols] : {std::pair<std::int64_t, std::int64_t>{37, 96},
                            {5, 32},
                            {130, 64},
                            {16, 160},
                            {1, 32},
                            {200, 320}}) {
    const std::int64_t nb = cols / 32;
    std::vector<std::uint8_t> q8(static_cast<std::size_t>(rows * nb * 34));
    for (std::int64_t blk = 0; blk < rows * nb; ++blk) {
      const float d =
          (blk % 5 == 3 ? -1.0f : 1.0f) * (0.001f + 0.0007f * static_cast<float>(blk % 13));
      const std::uint16_t dh = f32_to_f16(d);
      std::memcpy(q8.data() + blk * 34, &dh, 2);
      for (int i = 0; i < 32; ++i)  // every byte value (-128 too) over 8 or more blocks
        q8[static_cast<std::size_t>(blk * 34 + 2 + i)] =
            static_cast<std::uint8_t>(blk * 37 + i * 8 + (blk >> 3));
    }
    models::DenseTensor w;
    w.name = "output.weight";
    w.type = models::DType::kQ8_0;
    w.rows = rows;
    w.cols = cols;
    w.data = q8.data();
    std::vector<float> h(static_cast<std::size_t>(cols));
    for (std::size_t i = 0; i < h.size(); ++i)
      h[i] = std::sin(0.37f * static_cast<float>(i)) - 0.2f;
    const models::HiddenQ8 hq = models::quantize_hidden_q8_0(h.data(), cols);
    std::vector<float> want(static_cast<std::size_t>(rows));
    std::vector<double> mag(static_cast<std::size_t>(rows));
    for (std::int64_t r = 0; r < rows; ++r) {
      float acc = 0;
      for (std::int64_t b = 0; b < nb; ++b) {
        const std::uint8_t* blk = q8.data() + (r * nb + b) * 34;
        std::uint16_t dh;
        std::memcpy(&dh, blk, 2);
        std::int32_t dot = 0;
        for (int i = 0; i < 32; ++i)
          dot += static_cast<std::int8_t>(blk[2 + i]) * hq.q[static_cast<std::size_t>(b * 32 + i)];
        const float scale = f16_to_f32(dh) * hq.d[static_cast<std::size_t>(b)];
        acc = std::fma(static_cast<float>(dot), scale, acc);
        mag[r] += std::fabs(static_cast<double>(dot) * scale);
      }
      want[r] = acc;
    }
    for (Isa cap : {Isa::kAvx512Vnni, Isa::kAvx2, Isa::kScalar}) {
      if (!isa_runnable(cap)) continue;
      models::OutputMatrix m(w, models::OutputType::kAsStored, cap);
      ASSERT_EQ(m.isa(), cap);
      ASSERT_EQ(m.type(), models::DType::kQ8_0);
      const auto outs = logits_on_1_2_3_threads(m, h);
      const std::string what =
          std::to_string(rows) + "x" + std::to_string(cols) + " " + std::string(isa_name(cap));
      if (cap == Isa::kAvx2) {
        for (std::int64_t r = 0; r < rows; ++r)
          EXPECT_NEAR(outs[0][r], want[r], 1e-6 * mag[r] + 1e-30) << what << " row " << r;
      } else {
        EXPECT_EQ(outs[0], want) << what;
      }
      EXPECT_EQ(outs[0], outs[1]) << what;
      EXPECT_EQ(outs[0], outs[2]) << what;
      EXPECT_EQ(outs[0], outs[3]) << what << ", uneven shares";
    }
  }
}

namespace {
// models::attention of n queries after pos0 cached positions (kv_heads kv heads of `group` query
// heads, dimension d; K and V rows kv_heads * d apart, as in the model's cache; inputs from fixed
// sine patterns), with each ISA level this CPU has (the scalar, AVX2 and AVX-512 paths) on 1, 2 and
// 3 threads: the same bits on each thread count, and every output within float rounding of a
// double-precision causal softmax(q.k / sqrt(d)) v.
void check_attention(std::int64_t n, std::int64_t pos0, std::int64_t kv_heads, std::int64_t group,
                     std::int64_t d, std::vector<float>& scratch) {
  const std::int64_t heads = kv_heads * group, ld = kv_heads * d, ctx = pos0 + n;
  std::vector<float> q(static_cast<std::size_t>(n * heads * d)),
      k(static_cast<std::size_t>(ctx * ld)), v(k.size());
  for (std::size_t i = 0; i < q.size(); ++i) q[i] = std::sin(0.7f * static_cast<float>(i)) * 1.5f;
  for (std::size_t i = 0; i < k.size(); ++i) {
    k[i] = std::cos(0.31f * static_cast<float>(i)) * 1.2f;
    v[i] = std::sin(0.17f * static_cast<float>(i) + 0.5f);
  }
  // The double-precision result and, per output, sum_j p_j |v_j| (the scale of its rounding).
  std::vector<double> want(q.size()), mag(q.size());
  for (std::int64_t t = 0; t < n; ++t)
    for (std::int64_t h = 0; h < heads; ++h) {
      const std::int64_t g = h / group, len = pos0 + t + 1;
      const float* qh = q.data() + (t * heads + h) * d;
      std::vector<double> p(static_cast<std::size_t>(len));
      double mx = -1e300, sum = 0;
      for (std::int64_t j = 0; j < len; ++j) {
        double dot = 0;
        for (std::int64_t i = 0; i < d; ++i) dot += double(qh[i]) * k[j * ld + g * d + i];
        p[j] = dot / std::sqrt(double(d));
        mx = std::max(mx, p[j]);
      }
      for (auto& x : p) sum += (x = std::exp(x - mx));
      for (std::int64_t i = 0; i < d; ++i) {
        const std::size_t o = static_cast<std::size_t>((t * heads + h) * d + i);
        for (std::int64_t j = 0; j < len; ++j) {
          want[o] += p[j] / sum * v[j * ld + g * d + i];
          mag[o] += p[j] / sum * std::fabs(v[j * ld + g * d + i]);
        }
      }
    }
  for (Isa cap : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512}) {
    if (!isa_runnable(cap)) continue;
    std::vector<std::vector<float>> outs;
    for (int threads : {1, 2, 3}) {
      ThreadPool pool(threads);
      std::vector<float> out(q.size(), -7.0f);
      models::attention(q.data(), k.data(), v.data(), n, pos0, heads, kv_heads, d, out.data(), pool,
                        scratch, cap);
      outs.push_back(out);
    }
    const std::string what = std::string(isa_name(cap)) + " n " + std::to_string(n) + " pos0 " +
                             std::to_string(pos0) + " d " + std::to_string(d) + " kv " +
                             std::to_string(kv_heads) + " group " + std::to_string(group);
    EXPECT_EQ(outs[0], outs[1]) << what;
    EXPECT_EQ(outs[0], outs[2]) << what;
    for (std::size_t o = 0; o < want.size(); ++o)
      ASSERT_NEAR(outs[0][o], want[o], 2e-5 * mag[o] + 1e-30)
          << what << " token " << o / static_cast<std::size_t>(heads * d) << " head "
          << o / static_cast<std::size_t>(d) % static_cast<std::size_t>(heads) << " dim "
          << o % static_cast<std::size_t>(d);
  }
}
}  // namespace

// A prompt (causal): lengths around the Eigen path's blocks of 64 queries and the AVX-512 path's
// bundles of four, from an empty cache and after 37 positions; two kv heads of two query heads
// each. Head dimensions: the AVX-512 path's (64, 128) and one it leaves to the Eigen path (80).
TEST(Attention, PromptBlocksMatchDoublePrecisionOnEveryThreadCount) {
  std::vector<float> scratch;
  for (std::int64_t d : {64, 128, 80})
    for (std::int64_t pos0 : {0, 37})
      for (std::int64_t n : {2, 3, 5, 63, 64, 65, 150}) check_attention(n, pos0, 2, 2, d, scratch);
}

// With AVX-512, a prompt's token gets the same bits as a decode step at its position would (both
// run attention_rows_avx512; a prompt bundles tokens of a head, a decode step heads of a token), so
// a prompt run at -b 1 and one in a single batch see the same attention.
TEST(Attention, PromptRowsEqualDecodeStepsWithAvx512) {
  if (!isa_runnable(Isa::kAvx512)) GTEST_SKIP() << "no AVX-512 here";
  std::vector<float> scratch;
  for (std::int64_t d : {64, 96, 128, 256})
    for (auto [n, pos0] : {std::pair<std::int64_t, std::int64_t>{7, 0}, {6, 37}, {33, 20}}) {
      const std::int64_t kv_heads = 2, heads = 6, ld = kv_heads * d, ctx = pos0 + n;
      std::vector<float> q(static_cast<std::size_t>(n * heads * d)),
          k(static_cast<std::size_t>(ctx * ld)), v(k.size());
      for (std::size_t i = 0; i < q.size(); ++i) q[i] = std::sin(0.3f * static_cast<float>(i));
      for (std::size_t i = 0; i < k.size(); ++i) {
        k[i] = std::cos(0.23f * static_cast<float>(i)) * 2.0f;
        v[i] = std::sin(0.11f * static_cast<float>(i) + 1.0f);
      }
      ThreadPool pool(2);
      std::vector<float> prompt(q.size(), -7.0f), step(static_cast<std::size_t>(heads * d));
      models::attention(q.data(), k.data(), v.data(), n, pos0, heads, kv_heads, d, prompt.data(),
                        pool, scratch);
      for (std::int64_t t = 0; t < n; ++t) {
        const std::size_t row = static_cast<std::size_t>(t * heads * d);
        models::attention(q.data() + row, k.data(), v.data(), 1, pos0 + t, heads, kv_heads, d,
                          step.data(), pool, scratch);
        ASSERT_EQ(std::vector<float>(prompt.begin() + static_cast<std::ptrdiff_t>(row),
                                     prompt.begin() + static_cast<std::ptrdiff_t>(row) + heads * d),
                  step)
            << "d " << d << " n " << n << " pos0 " << pos0 << " token " << t;
      }
    }
}

// One query (a decode step). Covers the AVX-512 path's head dimensions (64, 96, 128, 256) and one
// it leaves to the general path (80); kv groups of 1, 2, 4 and 8 heads (bundles of 1, 2 and 4, and
// groups smaller than the thread count); context lengths around its blocks of 16 keys.
TEST(Attention, OneQueryMatchesDoublePrecisionOnEveryThreadCount) {
  std::vector<float> scratch;
  for (std::int64_t d : {64, 96, 128, 256, 80})
    for (auto [kv_heads, group] :
         {std::pair<std::int64_t, std::int64_t>{2, 1}, {1, 2}, {3, 4}, {1, 8}})
      for (std::int64_t ctx : {1, 3, 16, 17, 33, 260})
        check_attention(1, ctx - 1, kv_heads, group, d, scratch);
}

// The AVX-512 attention's exp for x <= 0: within 2 ulp of std::exp wherever that is a normal float,
// 0 or a denormal below it, exactly 1 at 0.
TEST(Attention, VectorExpIsWithinTwoUlp) {
  if (!isa_runnable(Isa::kAvx512)) GTEST_SKIP() << "no AVX-512 here";
  std::vector<float> x;
  for (float t = -110.0f; t <= 0.0f; t += 0.00731f) x.push_back(t);
  for (float t : {0.0f, -0.0f, -1e-30f, -1e-7f, -0.34657359f, -0.34657360f, -87.3f, -87.34f,
                  -103.9f, -104.0f, -1e4f, -std::numeric_limits<float>::infinity()})
    x.push_back(t);
  std::vector<float> y(x.size());
  models::attention_exp_avx512(x.data(), static_cast<std::int64_t>(x.size()), y.data());
  auto bits = [](float f) {
    std::int32_t b;
    std::memcpy(&b, &f, 4);
    return b;
  };
  for (std::size_t i = 0; i < x.size(); ++i) {
    const float want = std::exp(x[i]);
    if (want >= std::numeric_limits<float>::min()) {
      EXPECT_LE(std::abs(bits(y[i]) - bits(want)), 2)
          << "x " << x[i] << ": " << y[i] << " vs " << want;
    } else {
      EXPECT_GE(y[i], 0.0f) << x[i];
      EXPECT_LT(y[i], std::numeric_limits<float>::min()) << x[i];
    }
  }
  const float zero = 0.0f;
  float one = 0.0f;
  models::attention_exp_avx512(&zero, 1, &one);
  EXPECT_EQ(one, 1.0f);
}

TEST(F16, ConversionsRoundTripAndRoundToEven) {
  for (std::uint32_t h = 0; h < 65536; ++h) {
    const float f = f16_to_f32(static_cast<std::uint16_t>(h));
    if (std::isnan(f)) continue;
    ASSERT_EQ(f32_to_f16(f), h) << std::hex << h;
  }
  EXPECT_EQ(f32_to_f16(1.0f), 0x3c00);
  EXPECT_EQ(f32_to_f16(65504.0f), 0x7bff);
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7c00);  // rounds to infinity
  EXPECT_EQ(f32_to_f16(1.0f + 0x1p-11f), 0x3c00);  // tie -> even
  EXPECT_EQ(f32_to_f16(1.0f + 3 * 0x1p-11f), 0x3c02);  // tie -> even (up)
  EXPECT_EQ(f32_to_f16(0x1p-25f), 0x0000);  // tie between 0 and the smallest subnormal -> 0
  EXPECT_EQ(f32_to_f16(0x1.8p-25f), 0x0001);
  EXPECT_TRUE(std::isnan(f16_to_f32(f32_to_f16(std::numeric_limits<float>::quiet_NaN()))));
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(bf16_to_f32(0x3f80), 1.0f);
  EXPECT_EQ(f32_to_bf16(1.0f + 0x1p-8f), 0x3f80);  // tie -> even
}

// The SIMD relu^2 GLU is the scalar definition bit for bit, specials and every tail length included.
TEST(Ops, GluRelu2IsTheScalarDefinitionBitForBit) {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> specials = {0.0f, -0.0f, 1.5f, -1.5f, inf, -inf, nan, 1e-40f, -1e-40f, 3e19f, 7.25f};
  for (std::int64_t n = 0; n <= 19; ++n) {
    std::vector<float> g(n), u(n);
    for (std::int64_t i = 0; i < n; ++i) {
      g[i] = specials[static_cast<std::size_t>(i) % specials.size()];
      u[i] = specials[static_cast<std::size_t>(i * 5 + 3) % specials.size()];
    }
    std::vector<float> want(n);
    for (std::int64_t i = 0; i < n; ++i) {
      const float r = g[i] > 0 ? g[i] : 0.0f;
      want[i] = r * r * u[i];
    }
    models::glu_relu2(g.data(), u.data(), n);
    for (std::int64_t i = 0; i < n; ++i) {
      std::uint32_t a, b;
      std::memcpy(&a, &g[i], 4);
      std::memcpy(&b, &want[i], 4);
      EXPECT_EQ(a, b) << "n " << n << " element " << i;
    }
  }
}

// RMS norm within float rounding of double precision for every tail length of its eight partial
// sums (the last element is the largest, so a dropped tail shows), in place as the forward pass
// uses it too.
TEST(Ops, RmsnormMatchesDoublePrecisionForEveryTail) {
  for (std::int64_t n : {1, 2, 7, 8, 9, 15, 16, 17, 23, 2560, 6913}) {
    std::vector<float> x(static_cast<std::size_t>(n)), w(x.size()), y(x.size());
    for (std::int64_t i = 0; i < n; ++i) {
      x[i] = std::sin(0.3f * static_cast<float>(i)) - 0.1f;
      w[i] = 1.0f + 0.01f * static_cast<float>(i % 7);
    }
    x[n - 1] = 40.0f;
    double ss = 0;
    for (float v : x) ss += double(v) * v;
    const double inv = 1.0 / std::sqrt(ss / double(n) + 1e-5);
    models::rmsnorm(x.data(), w.data(), n, 1e-5f, y.data());
    for (std::int64_t i = 0; i < n; ++i) {
      const double want = double(x[i]) * inv * w[i];
      EXPECT_NEAR(y[i], want, 1e-6 * std::fabs(want) + 1e-30) << "n " << n << " element " << i;
    }
    models::rmsnorm(x.data(), w.data(), n, 1e-5f, x.data());
    EXPECT_EQ(x, y) << "in place, n " << n;
  }
}

TEST(Synthetic, DeterministicAndRealisticStatistics) {
  models::SyntheticSource a(*models::find_preset("tiny"), 5), b(*models::find_preset("tiny"), 5),
      c(*models::find_preset("tiny"), 6);
  const auto ta = a.ternary("blk.1.ffn_up.weight"), tb = b.ternary("blk.1.ffn_up.weight"),
             tc = c.ternary("blk.1.ffn_up.weight");
  EXPECT_EQ(ta.w, tb.w);
  EXPECT_EQ(ta.scale, tb.scale);
  EXPECT_NE(ta.w, tc.w);
  std::int64_t zeros = 0;
  for (auto v : ta.w) zeros += v == 0;
  const double frac = static_cast<double>(zeros) / static_cast<double>(ta.w.size());
  EXPECT_NEAR(frac, 1.0 / 3.0, 0.02);
  EXPECT_EQ(a.tensor_names().size(), 2u * 11 + 2);
  EXPECT_THROW(a.ternary("blk.9.attn_q.weight"), std::invalid_argument);
  EXPECT_THROW(a.dense("blk.0.attn_q.weight"), std::invalid_argument);
}

}  // namespace
}  // namespace tritbench

namespace tritbench {
namespace {

// results/golden/*.json hold the reference path's outputs when they were written: a change that
// alters the numbers is caught here even if every kernel (and the reference) changed together.
TEST(Golden, EveryExactKernelReproducesTheGoldenOutputs) {
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(std::string(TRITBENCH_SOURCE_DIR) + "/results/golden")) {
    if (entry.path().extension() != ".json") continue;
    ++files;
    const auto g = nlohmann::json::parse(std::ifstream(entry.path()));
    const std::string model = g["model"];
    ASSERT_EQ(model.rfind("synthetic:", 0), 0u) << entry.path();
    models::SyntheticSource src(*models::find_preset(model.substr(10)), g["seed"].get<std::uint64_t>());
    const auto rep = check::check_e2e(src, g["prompt"].get<std::vector<std::int32_t>>(), g["steps"].get<std::int64_t>(),
                                      all_rows(), {1, 2});
    for (const auto& p : check::check_golden(rep, g)) ADD_FAILURE() << entry.path() << ": " << p;
    EXPECT_TRUE(rep.pass) << entry.path();
  }
  EXPECT_GE(files, 2);
}

}  // namespace
}  // namespace tritbench
