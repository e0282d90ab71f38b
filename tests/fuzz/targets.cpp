#include "tests/fuzz/targets.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "harness/lib/experiment.h"
#include "models/gguf_source.h"
#include "models/hf_source.h"
#include "models/safetensors.h"
#include "models/synth.h"
#include "models/tokenizer.h"
#include "models/vocab_synthetic.h"

namespace tritbench::fuzz {

namespace {

const models::Tokenizer& synthetic_tokenizer() {
  static const models::Tokenizer t(models::synthetic_gpt2_vocab(2048));
  return t;
}
const models::Tokenizer& synthetic_spm() {
  static const models::Tokenizer t(models::synthetic_llama_vocab(1024));
  return t;
}

// Reads little pieces off the input: the vocabulary target builds a TokenizerSpec from them.
struct Reader {
  const std::uint8_t* p;
  std::size_t n;
  std::uint8_t byte() {
    if (!n) return 0;
    --n;
    return *p++;
  }
  std::string str() {
    std::size_t len = byte() % 12;
    std::string s;
    while (len-- && n) s += static_cast<char>(byte());
    return s;
  }
};

}  // namespace

int experiment(const std::uint8_t* data, std::size_t size) {
  try {
    const auto j = nlohmann::json::parse(data, data + size);
    (void)experiment::parse(j, "fuzz.json");
  } catch (const std::exception&) {
  }
  return 0;
}

int tokenizer_encode(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const auto& t = synthetic_tokenizer();
  const auto ids = t.encode(text, false, false);
  if (t.decode(ids) != text) throw std::logic_error("gpt2 tokenizer round trip failed");  // a finding
  (void)synthetic_spm().encode(text, true, true);
  return 0;
}

int tokenizer_vocab(const std::uint8_t* data, std::size_t size) {
  Reader r{data, size};
  models::TokenizerSpec spec;
  spec.model = r.byte() % 2 ? "gpt2" : "llama";
  spec.pre = r.byte() % 2 ? "llama-bpe" : "default";
  const int tokens = r.byte() % 64;
  for (int i = 0; i < tokens; ++i) {
    spec.tokens.push_back(r.str());
    if (r.byte() % 4 == 0) spec.types.push_back(static_cast<models::TokenType>(r.byte() % 8));
    spec.scores.push_back(static_cast<float>(static_cast<std::int8_t>(r.byte())));
  }
  const int merges = r.byte() % 32;
  for (int i = 0; i < merges; ++i) spec.merges.push_back(r.str() + " " + r.str());
  spec.bos = static_cast<std::int8_t>(r.byte());
  spec.eos = static_cast<std::int8_t>(r.byte());
  spec.add_bos = r.byte() % 2;
  try {
    const models::Tokenizer t(spec);
    const std::string text(reinterpret_cast<const char*>(r.p), r.n);
    (void)t.decode(t.encode(text));
  } catch (const std::invalid_argument&) {
  }
  return 0;
}

// Stricter than the others: the GGUF reader's only failure mode is GgufError (naming the file and
// the field), so any other exception escapes and is a finding too.
int gguf(const std::uint8_t* data, std::size_t size) {
  try {
    const models::GgufSource s(
        models::GgufFile::parse(std::vector<std::uint8_t>(data, data + size), "fuzz.gguf"));
    for (const auto& n : s.tensor_names()) {
      if (models::is_bitlinear_weight(n)) {
        (void)s.ternary(n);
      } else {
        (void)s.dense(n).to_float();
      }
    }
  } catch (const models::GgufError&) {
  }
  return 0;
}

// Like gguf: SafetensorsError (naming the file and field) is the only way out.
int safetensors(const std::uint8_t* data, std::size_t size) {
  try {
    const auto f = models::SafetensorsFile::parse(std::vector<std::uint8_t>(data, data + size),
                                                  "fuzz.safetensors");
    std::vector<float> buf;
    for (const auto& t : f->tensors()) {
      if (!models::st_dtype_readable(t.dtype)) continue;
      buf.resize(static_cast<std::size_t>(t.elements()));
      t.to_float(0, t.elements(), buf.data());
    }
  } catch (const models::SafetensorsError&) {
  }
  return 0;
}

// The same text as config.json and as tokenizer.json: HfError is the only way out (a JSON value of
// an unexpected type must be reported by name, never escape as a library exception).
int hf_json(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    (void)models::parse_hf_config(text, "fuzz/config.json", true);
  } catch (const models::HfError&) {
  }
  try {
    (void)models::parse_hf_tokenizer(text, "", "", 300, "fuzz/tokenizer.json");
  } catch (const models::HfError&) {
  }
  return 0;
}

namespace {
// Small complete models in bitnet.cpp's layout (both architectures, one layer, about 25 KB each).
std::vector<std::string> gguf_seeds() {
  std::vector<std::string> out;
  const auto path = std::filesystem::temp_directory_path() /
                    ("tritbench_fuzz_seed_" + std::to_string(::getpid()) + ".gguf");
  for (const char* preset : {"tiny", "tiny-silu"}) {
    models::ModelConfig c = *models::find_preset(preset);
    c.layers = 1;
    c.hidden = c.head_dim = 32;
    c.heads = c.kv_heads = 1;
    c.ffn = 64;
    c.vocab = 262;  // the smallest synthetic_gpt2_vocab
    models::write_synthetic_gguf(models::SyntheticSource(c, 1), path.string());
    std::ifstream f(path, std::ios::binary);
    out.emplace_back(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  }
  std::filesystem::remove(path);
  return out;
}

std::vector<std::string> safetensors_seeds() {
  const auto path = std::filesystem::temp_directory_path() /
                    ("tritbench_fuzz_seed_" + std::to_string(::getpid()) + ".safetensors");
  std::vector<std::uint8_t> f32(24, 0x3f), bf16(16, 0x3f), u8(12, 0x55);
  models::write_safetensors(path.string(),
                            {{"a.weight", models::StDType::kBF16, {2, 4}, bf16},
                             {"a.weight_scale", models::StDType::kF32, {}, {0, 0, 0x80, 0x3f}},
                             {"b", models::StDType::kF32, {6}, f32},
                             {"c", models::StDType::kU8, {3, 4}, u8}},
                            {{"format", "pt"}});
  std::ifstream f(path, std::ios::binary);
  std::string s{std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
  std::filesystem::remove(path);
  return {s};
}

// A config.json and a complete byte-level tokenizer.json (the smallest synthetic vocabulary).
std::vector<std::string> hf_json_seeds() {
  const std::string config = R"({"architectures": ["BitNetForCausalLM"], "hidden_act": "relu2",
    "hidden_size": 256, "intermediate_size": 640, "num_hidden_layers": 2, "num_attention_heads": 4,
    "num_key_value_heads": 2, "vocab_size": 300, "rope_theta": 500000.0, "rms_norm_eps": 1e-05,
    "max_position_embeddings": 4096, "tie_word_embeddings": true, "head_dim": 64,
    "quantization_config": {"quant_method": "bitnet", "linear_class": "autobitlinear",
                            "quantization_mode": "offline"}})";
  const models::TokenizerSpec v = models::synthetic_gpt2_vocab(300);
  nlohmann::json vocab = nlohmann::json::object(), added = nlohmann::json::array();
  for (std::size_t i = 0; i < v.tokens.size(); ++i) {
    if (v.types[i] == models::TokenType::kControl) {
      added.push_back({{"id", i}, {"content", v.tokens[i]}, {"special", true}});
    } else {
      vocab[v.tokens[i]] = i;
    }
  }
  nlohmann::json tok = {
      {"added_tokens", added},
      {"normalizer", nullptr},
      {"pre_tokenizer",
       {{"type", "Sequence"},
        {"pretokenizers",
         nlohmann::json::array(
             {nlohmann::json{
                  {"type", "Split"},
                  {"pattern",
                   {{"Regex", models::PreTokenizer::pattern(models::PreTokenizer::Kind::kLlama3)}}},
                  {"behavior", "Isolated"},
                  {"invert", false}},
              nlohmann::json{{"type", "ByteLevel"}, {"use_regex", false}}})}}},
      {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", v.merges}}}};
  return {config, tok.dump()};
}

std::vector<std::string> experiment_seeds() {
  return {R"({"name": "q", "checks": {"kernels": true, "e2e": {"model": "synthetic:tiny", "steps": 4}},
              "sweeps": [{"kernels": ["i2s", "naive"], "shapes": "2b4t,64x64", "batch": [1, 8], "threads": [1, 2],
                          "hot": true, "repetitions": 3, "min_time": 0.05}],
              "e2e": [{"model": "synthetic:small", "seed": 3, "kernels": "i2s*", "prompt": [128], "gen": 32,
                       "batch": [0, 1], "threads": [1], "repetitions": 2, "output_type": "f16"}]})",
          R"({"e2e": [{"model": "synthetic:tiny"}]})"};
}
std::vector<std::string> text_seeds() {
  return {"Hello, world! It's 2026: 1234567 tokens.", "  \t\r\n  code(x) { return x * 2; }",
          "日本語のテキストと عربي و हिन्दी 👩‍👩‍👧‍👦🏽", "\xff\xfe\xc0\xaf\xed\xa0\x80 bad bytes",
          "<|begin_of_text|>User: hi<|eot_id|>"};
}
std::vector<std::string> vocab_seeds() {
  std::string s = {1, 1, 8};
  for (const char* tok : {"a", "b", "ab", "c", "abc", " ", "\xc4\xa0", "<s>"}) {
    s += static_cast<char>(std::char_traits<char>::length(tok));
    s += tok;
    s += '\x01';
    s += '\x00';
  }
  s += '\x02';
  for (const char* m : {"a", "b", "ab", "c"}) {
    s += static_cast<char>(std::char_traits<char>::length(m));
    s += m;
  }
  return {s + "abcab c", std::string(64, '\x03')};
}
}  // namespace

const std::vector<Target>& targets() {
  static const std::vector<Target> t = {
      {"experiment", experiment, experiment_seeds},
      {"tokenizer_encode", tokenizer_encode, text_seeds},
      {"tokenizer_vocab", tokenizer_vocab, vocab_seeds},
      {"gguf", gguf, gguf_seeds},
      {"safetensors", safetensors, safetensors_seeds},
      {"hf_json", hf_json, hf_json_seeds},
  };
  return t;
}

void write_seeds(const std::string& name, const std::string& dir) {
  for (const Target& t : targets()) {
    if (name != t.name) continue;
    std::filesystem::create_directories(dir);
    const auto seeds = t.seeds();
    for (std::size_t i = 0; i < seeds.size(); ++i)
      std::ofstream(std::filesystem::path(dir) / ("seed" + std::to_string(i)), std::ios::binary)
          << seeds[i];
    return;
  }
  throw std::invalid_argument("unknown fuzz target '" + name + "'");
}

}  // namespace tritbench::fuzz
