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

namespace tritbench::models {

namespace {

// GPT-2's byte-level alphabet: printable bytes stand for themselves, the other 68 bytes are moved
// to code points 256.. in byte order, so every token is printable UTF-8.
std::string byte_token(int b) {
  const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  std::uint32_t cp = static_cast<std::uint32_t>(b);
  if (!printable) {
    cp = 256;
    for (int x = 0; x < b; ++x)
      if (!((x >= 33 && x <= 126) || (x >= 161 && x <= 172) || (x >= 174 && x <= 255))) ++cp;
  }
  std::string s;
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else {  // all code points here are below 0x800: two UTF-8 bytes
    s += static_cast<char>(0xc0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3f));
  }
  return s;
}

// A few of the first merges an English BPE learns ("Ġ" is the byte-level space).
constexpr const char* kMerges[][2] = {
    {"Ġ", "t"},  {"h", "e"}, {"i", "n"}, {"Ġ", "a"}, {"e", "r"},  {"o", "n"},   {"Ġt", "he"},
    {"r", "e"},  {"a", "n"}, {"e", "n"}, {"Ġ", "s"}, {"Ġ", "w"},  {"a", "t"},   {"o", "r"},
    {"Ġ", "o"},  {"e", "s"}, {"Ġ", "c"}, {"i", "s"}, {"Ġ", "b"},  {"i", "t"},   {"Ġ", "f"},
    {"in", "g"}, {"Ġ", "p"}, {"o", "u"}, {"Ġ", "m"}, {"Ġa", "n"}, {"Ġan", "d"}, {"Ġ", "i"},
};
constexpr std::int64_t kNumMerges = sizeof(kMerges) / sizeof(kMerges[0]);
constexpr std::int64_t kLlama3Vocab = 128256, kLlama3Bos = 128000;

const char* const kChatTemplate =
    "{{ bos_token }}{% for message in messages %}{{ '<|start_header_id|>' + message['role'] + "
    "'<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% "
    "endif %}";

}  // namespace

TokenizerSpec minimal_gpt2_vocab(std::int64_t vocab_size) {
  const std::int64_t min_size = 256 + kNumMerges + 5;
  if (vocab_size < min_size)
    throw std::invalid_argument("minimal_gpt2_vocab: vocabulary size " +
                                std::to_string(vocab_size) + " is too small (expected at least " +
                                std::to_string(min_size) + ": 256 byte tokens, " +
                                std::to_string(kNumMerges) + " merges, 5 specials)");
  TokenizerSpec v;
  v.model = "gpt2";
  v.pre = "llama-bpe";
  v.tokens.reserve(static_cast<std::size_t>(vocab_size));
  for (int b = 0; b < 256; ++b) v.tokens.push_back(byte_token(b));
  v.types.assign(256, TokenType::kNormal);
  for (const auto& m : kMerges) {
    v.merges.push_back(std::string(m[0]) + " " + m[1]);
    v.tokens.push_back(std::string(m[0]) + m[1]);
    v.types.push_back(TokenType::kNormal);
  }
  auto add = [&](std::string s, TokenType t) {
    v.tokens.push_back(std::move(s));
    v.types.push_back(t);
  };
  auto reserved = [](std::int64_t i) {
    return "<|reserved_special_token_" + std::to_string(i) + "|>";
  };
  if (vocab_size >= kLlama3Vocab) {
    // LLaMA-3's special block at its ids 128000..128255 (bos, eos, reserved 0..3, header markers,
    // reserved 4, eot, reserved 5..250). The filler below it continues the reserved numbering past
    // 250 and is typed unused, so tokenizers need not match it as special text.
    std::int64_t next = 251;
    while (static_cast<std::int64_t>(v.tokens.size()) < kLlama3Bos)
      add(reserved(next++), TokenType::kUnused);
    v.bos = kLlama3Bos;
    v.eos = kLlama3Bos + 1;
    add("<|begin_of_text|>", TokenType::kControl);
    add("<|end_of_text|>", TokenType::kControl);
    for (int i = 0; i < 4; ++i) add(reserved(i), TokenType::kControl);
    add("<|start_header_id|>", TokenType::kControl);
    add("<|end_header_id|>", TokenType::kControl);
    add(reserved(4), TokenType::kControl);
    add("<|eot_id|>", TokenType::kControl);
    for (int i = 5; i <= 250; ++i) add(reserved(i), TokenType::kControl);
    while (static_cast<std::int64_t>(v.tokens.size()) < vocab_size)
      add(reserved(next++), TokenType::kControl);
  } else {
    // Small vocabularies: the same specials right after the merges, then reserved padding.
    v.bos = static_cast<std::int64_t>(v.tokens.size());
    v.eos = v.bos + 1;
    add("<|begin_of_text|>", TokenType::kControl);
    add("<|end_of_text|>", TokenType::kControl);
    add("<|start_header_id|>", TokenType::kControl);
    add("<|end_header_id|>", TokenType::kControl);
    add("<|eot_id|>", TokenType::kControl);
    for (std::int64_t i = 0; static_cast<std::int64_t>(v.tokens.size()) < vocab_size; ++i)
      add(reserved(i), TokenType::kControl);
  }
  v.scores.assign(v.tokens.size(), 0.0f);
  v.add_bos = true;
  v.add_eos = false;
  v.chat_template = kChatTemplate;
  return v;
}

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
    if (!v.scores.empty())
      w.add_kv("tokenizer.ggml.scores", GgufValue::array_of<float>(GgufType::kFloat32, v.scores));
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
               GgufSink& sink) {
  const auto [M, K] = src.shape(name);
  const std::int64_t n = M * K;  // a multiple of 128 (checked when the tensor was declared)
  const std::int64_t slab = kSlabBytes * 4 / kChunk * kChunk;  // weights per slab
  std::vector<std::uint8_t> out(static_cast<std::size_t>(std::min(n, slab) / 4));
  for (std::int64_t s0 = 0; s0 < n; s0 += slab) {
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
                  GgufSink& sink) {
  const auto [rows, cols] = src.shape(name);
  const std::int64_t row_bytes = type == DType::kF32    ? cols * 4
                                 : type == DType::kQ8_0 ? cols / 32 * 34
                                                        : cols * 2;
  const std::int64_t slab_rows = std::max<std::int64_t>(1, kSlabBytes / row_bytes);
  std::vector<std::uint8_t> out(static_cast<std::size_t>(std::min(rows, slab_rows) * row_bytes));
  for (std::int64_t r0 = 0; r0 < rows; r0 += slab_rows) {
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
    own = minimal_gpt2_vocab(c.vocab);
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
  w.write(path, [&](std::size_t i, GgufSink& sink) {
    const std::string& n = names[i];
    if (types[i] == DType::kI2_S) {
      write_i2s(src, n, pool, sink);
    } else if (src.shape(n).first > 1) {
      write_matrix(src, n, types[i], pool, sink);
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
