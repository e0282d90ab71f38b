#include "models/synth.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "kernels/i2s/format.h"
#include "kernels/i2s/i2s.h"
#include "kernels/runtime/thread_pool.h"
#include "models/f16.h"
#include "models/vocab_synthetic.h"

namespace tritbench::models {

void add_bitnet_kvs(GgufWriter& w, const ModelConfig& c, const std::string& name,
                    std::uint32_t file_type, const TokenizerSpec* vocab) {
  auto u32 = [](std::int64_t v) {
    if (v < 0 || v > 0xffffffffLL)
      throw std::invalid_argument("GGUF key value out of uint32 range");
    return GgufValue::u32(static_cast<std::uint32_t>(v));
  };
  const std::string p = c.arch + ".";
  w.add_kv("general.architecture", GgufValue::string(c.arch));
  w.add_kv("general.name", GgufValue::string(name));
  w.add_kv(p + "vocab_size", u32(c.vocab));
  w.add_kv(p + "context_length", u32(c.context));
  w.add_kv(p + "embedding_length", u32(c.hidden));
  w.add_kv(p + "block_count", u32(c.layers));
  w.add_kv(p + "feed_forward_length", u32(c.ffn));
  w.add_kv(p + "rope.dimension_count", u32(c.head_dim));
  w.add_kv(p + "attention.head_count", u32(c.heads));
  w.add_kv(p + "attention.head_count_kv", u32(c.kv_heads));
  w.add_kv(p + "attention.layer_norm_rms_epsilon", GgufValue::f32(c.eps));
  w.add_kv(p + "rope.freq_base", GgufValue::f32(static_cast<float>(c.rope_theta)));
  w.add_kv("general.file_type", GgufValue::u32(file_type));
  if (vocab) {
    const TokenizerSpec& v = *vocab;
    w.add_kv("tokenizer.ggml.model", GgufValue::string(v.model));
    if (!v.pre.empty()) w.add_kv("tokenizer.ggml.pre", GgufValue::string(v.pre));
    w.add_kv("tokenizer.ggml.tokens", GgufValue::array_strings(v.tokens));
    // The official file carries scores even for gpt2 (where BPE ignores them): zeros if none.
    const std::vector<float> scores =
        v.scores.empty() ? std::vector<float>(v.tokens.size(), 0.0f) : v.scores;
    w.add_kv("tokenizer.ggml.scores", GgufValue::array_of<float>(GgufType::kFloat32, scores));
    if (!v.types.empty()) {
      std::vector<std::int32_t> t(v.types.size());
      for (std::size_t i = 0; i < t.size(); ++i) t[i] = static_cast<std::int32_t>(v.types[i]);
      w.add_kv("tokenizer.ggml.token_type", GgufValue::array_of<std::int32_t>(GgufType::kInt32, t));
    }
    if (!v.merges.empty()) w.add_kv("tokenizer.ggml.merges", GgufValue::array_strings(v.merges));
    if (v.bos >= 0) w.add_kv("tokenizer.ggml.bos_token_id", u32(v.bos));
    if (v.eos >= 0) w.add_kv("tokenizer.ggml.eos_token_id", u32(v.eos));
    if (v.unk >= 0) w.add_kv("tokenizer.ggml.unknown_token_id", u32(v.unk));
    if (v.pad >= 0) w.add_kv("tokenizer.ggml.padding_token_id", u32(v.pad));
    w.add_kv("tokenizer.ggml.add_bos_token", GgufValue::boolean(v.add_bos));
    w.add_kv("tokenizer.ggml.add_eos_token", GgufValue::boolean(v.add_eos));
    if (!v.chat_template.empty())
      w.add_kv("tokenizer.chat_template", GgufValue::string(v.chat_template));
  }
  w.add_kv("general.quantization_version", GgufValue::u32(2));
}

namespace {

// Output bytes per slab: bounds memory for any model size while keeping each thread's share large.
constexpr std::int64_t kSlabBytes = std::int64_t{32} << 20;
// Weights per generation chunk: a whole number of draws (40) and of I2_S blocks (128), small enough
// for the int8 scratch to stay in L2.
constexpr std::int64_t kChunk = 640 * 100;
static_assert(kChunk % SyntheticSource::kTritsPerDraw == 0 && kChunk % i2s::kBlock == 0);

void write_i2s(const SyntheticSource& src, const std::string& name, ThreadPool& pool,
               GgufSink& sink, const std::function<void()>& check_stop) {
  const auto [M, K] = src.shape(name);
  const std::int64_t n = M * K;  // a multiple of 128 (checked when the tensor was declared)
  const std::int64_t slab = kSlabBytes * 4 / kChunk * kChunk;  // weights per slab
  std::vector<std::uint8_t> out(static_cast<std::size_t>(std::min(n, slab) / 4));
  for (std::int64_t s0 = 0; s0 < n; s0 += slab) {
    check_stop();
    const std::int64_t s1 = std::min(n, s0 + slab);
    const auto parts = split_rows((s1 - s0) / i2s::kBlock, pool.size(), 1);
    pool.run([&](int t) {
      std::vector<std::int8_t> trits(kChunk);
      // Thread t encodes blocks [parts[t], parts[t+1]) of the slab, in chunks that start on draw
      // boundaries: a chunk start that is not a multiple of 40 weights begins a little earlier.
      const std::int64_t b0 = s0 + parts[t] * i2s::kBlock, b1 = s0 + parts[t + 1] * i2s::kBlock;
      for (std::int64_t i = b0; i < b1;) {
        const std::int64_t start =
            i / SyntheticSource::kTritsPerDraw * SyntheticSource::kTritsPerDraw;
        const std::int64_t end = std::min(b1, start + kChunk) / i2s::kBlock * i2s::kBlock;
        src.ternary_range(name, start, end, trits.data());
        i2s::encode_blocks(trits.data() + (i - start), end - i, out.data() + (i - s0) / 4);
        i = end;
      }
    });
    sink.write(out.data(), static_cast<std::size_t>((s1 - s0) / 4));
  }
  std::uint8_t trailer[i2s::kTrailerBytes] = {};
  const float scale = src.ternary_scale(name);
  std::memcpy(trailer, &scale, sizeof(float));
  sink.write(trailer, sizeof(trailer));
}

// One block of 32 values as Q8_0: fp16 d = max|x| / 127, then round(x / d) (half away from zero).
void quantize_q8_0(const float* x, std::uint8_t* out) {
  float amax = 0;
  for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(x[i]));
  const float d = amax / 127.0f;
  const float id = d != 0 ? 1.0f / d : 0.0f;
  const std::uint16_t h = f32_to_f16(d);
  std::memcpy(out, &h, 2);
  for (int i = 0; i < 32; ++i)
    out[2 + i] = static_cast<std::uint8_t>(static_cast<std::int8_t>(std::lround(x[i] * id)));
}

void write_matrix(const SyntheticSource& src, const std::string& name, DType type, ThreadPool& pool,
                  GgufSink& sink, const std::function<void()>& check_stop) {
  // Plain variables, not a structured binding: they are captured by the lambda below (clang < 16).
  const auto shape = src.shape(name);
  const std::int64_t rows = shape.first, cols = shape.second;
  const std::int64_t row_bytes = type == DType::kF32    ? cols * 4
                                 : type == DType::kQ8_0 ? cols / 32 * 34
                                                        : cols * 2;
  const std::int64_t slab_rows = std::max<std::int64_t>(1, kSlabBytes / row_bytes);
  std::vector<std::uint8_t> out(static_cast<std::size_t>(std::min(rows, slab_rows) * row_bytes));
  for (std::int64_t r0 = 0; r0 < rows; r0 += slab_rows) {
    check_stop();
    const std::int64_t r1 = std::min(rows, r0 + slab_rows);
    const auto parts = split_rows(r1 - r0, pool.size(), 1);
    pool.run([&](int t) {
      std::vector<std::uint16_t> h(static_cast<std::size_t>(cols));
      std::vector<float> f(static_cast<std::size_t>(cols));
      // Each row starts on a draw boundary only if cols is a multiple of 4; otherwise start at the
      // draw that holds the row's first element.
      std::vector<std::uint16_t> tmp(static_cast<std::size_t>(cols + SyntheticSource::kF16PerDraw));
      for (std::int64_t r = r0 + parts[t]; r < r0 + parts[t + 1]; ++r) {
        const std::int64_t i0 = r * cols;
        const std::int64_t start = i0 / SyntheticSource::kF16PerDraw * SyntheticSource::kF16PerDraw;
        src.matrix_f16_range(name, start, i0 + cols, tmp.data());
        std::memcpy(h.data(), tmp.data() + (i0 - start), static_cast<std::size_t>(cols) * 2);
        std::uint8_t* dst = out.data() + (r - r0) * row_bytes;
        if (type == DType::kF16) {
          std::memcpy(dst, h.data(), static_cast<std::size_t>(cols) * 2);
          continue;
        }
        for (std::int64_t k = 0; k < cols; ++k) f[k] = f16_to_f32(h[k]);
        if (type == DType::kF32) {
          std::memcpy(dst, f.data(), static_cast<std::size_t>(cols) * 4);
        } else {
          for (std::int64_t b = 0; b < cols / 32; ++b)
            quantize_q8_0(f.data() + 32 * b, dst + 34 * b);
        }
      }
    });
    sink.write(out.data(), static_cast<std::size_t>((r1 - r0) * row_bytes));
  }
}

}  // namespace

void quantize_q8_0_block(const float* x, std::uint8_t* out) { quantize_q8_0(x, out); }

SynthResult write_synthetic_gguf(const SyntheticSource& src, const std::string& path,
                                 const SynthOptions& opt) {
  const auto t_start = std::chrono::steady_clock::now();
  const ModelConfig& c = src.config();
  if (opt.output_type != DType::kF16 && opt.output_type != DType::kF32 &&
      opt.output_type != DType::kQ8_0)
    throw std::invalid_argument(std::string("synthetic GGUF: output type ") +
                                dtype_name(opt.output_type) +
                                " is not supported (expected F16, F32 or Q8_0)");
  if (opt.output_type == DType::kQ8_0 && c.hidden % 32 != 0)
    throw std::invalid_argument(
        "synthetic GGUF: Q8_0 output needs a hidden size that is a multiple of 32 (has " +
        std::to_string(c.hidden) + ")");
  TokenizerSpec own;
  const TokenizerSpec* vocab = src.tokenizer();
  if (!vocab) {
    own = synthetic_gpt2_vocab(c.vocab);
    vocab = &own;
  }
  if (static_cast<std::int64_t>(vocab->tokens.size()) != c.vocab)
    throw std::invalid_argument("synthetic GGUF: the vocabulary has " +
                                std::to_string(vocab->tokens.size()) +
                                " tokens, expected the preset's " + std::to_string(c.vocab));

  GgufWriter w;
  add_bitnet_kvs(w, c, opt.name.empty() ? "tritbench " + src.describe() : opt.name, 40, vocab);
  const auto names = src.tensor_names();
  std::vector<DType> types;
  for (const auto& n : names) {
    const auto [rows, cols] = src.shape(n);
    DType t = DType::kF32;
    if (is_bitlinear_weight(n)) {
      t = DType::kI2_S;
    } else if (rows > 1) {
      t = (n == "output.weight" || c.tied) ? opt.output_type : DType::kF16;
    }
    w.add_tensor(
        n, t, rows == 1 ? std::vector<std::int64_t>{cols} : std::vector<std::int64_t>{cols, rows});
    types.push_back(t);
  }

  ThreadPool pool(opt.threads > 0 ? opt.threads
                                  : std::max(1u, std::thread::hardware_concurrency()));
  std::uint64_t written = 0;
  auto check_stop = [&] {
    if (opt.stop && opt.stop->load())
      throw GgufError(path +
                      ": interrupted; nothing was written (a previous file there is unchanged)");
  };
  w.write(path, [&](std::size_t i, GgufSink& sink) {
    check_stop();
    const std::string& n = names[i];
    if (types[i] == DType::kI2_S) {
      write_i2s(src, n, pool, sink, check_stop);
    } else if (src.shape(n).first > 1) {
      write_matrix(src, n, types[i], pool, sink, check_stop);
    } else {
      const DenseTensor d = src.dense(n);
      sink.write(d.data, static_cast<std::size_t>(d.cols) * 4);
    }
    written += w.tensor_bytes(i);
    if (opt.progress) opt.progress(i + 1, names.size(), n, written);
  });
  SynthResult r;
  r.bytes = w.file_bytes();
  r.params = c.params();
  r.tensors = names.size();
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  return r;
}

}  // namespace tritbench::models
