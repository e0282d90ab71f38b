// tokenizer.json (HF tokenizers) -> TokenizerSpec. See models/hf_source.h.
#include <algorithm>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "models/hf_source.h"
#include "models/tokenizer.h"

namespace tritbench::models {

namespace {

using json = nlohmann::json;

constexpr const char* kSpmSpace = "\xE2\x96\x81";  // "▁"

std::string quote(const std::string& s) {
  std::string out = "'";
  for (unsigned char c : s.size() > 80 ? s.substr(0, 80) + "..." : s) {
    if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "'";
}

// The folder part of a path ("dir/" or "").
std::string dir_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? "" : path.substr(0, slash + 1);
}

std::string type_of(const json& v) {
  if (v.is_object()) {
    const auto t = v.find("type");
    if (t != v.end() && t->is_string()) return t->get<std::string>();
  }
  return v.is_null() ? "null" : v.type_name();
}

// A special-token field of tokenizer_config.json: "text", {"content": "text", ...} or null.
std::string token_field(const json& cfg, const char* key, const std::string& path) {
  const auto it = cfg.find(key);
  if (it == cfg.end() || it->is_null()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object()) {
    const auto c = it->find("content");
    if (c != it->end() && c->is_string()) return c->get<std::string>();
  }
  throw HfError(path + ": field '" + key + "' is " + it->dump().substr(0, 80) +
                " (expected a token string or {\"content\": string})");
}

// Whether a post_processor's single-sequence template starts with the special token `text`.
bool template_starts_with(const json& pp, const std::string& text) {
  if (pp.is_object()) {
    const auto single = pp.find("single");
    if (single != pp.end() && single->is_array() && !single->empty()) {
      const json& first = (*single)[0];
      const auto st = first.find("SpecialToken");
      if (st != first.end() && st->is_object() && st->value("id", std::string()) == text)
        return true;
    }
    for (const auto& v : pp) {
      if (template_starts_with(v, text)) return true;
    }
  } else if (pp.is_array()) {
    for (const auto& v : pp) {
      if (template_starts_with(v, text)) return true;
    }
  }
  return false;
}

bool is_byte_token(const std::string& t) {
  if (t.size() != 6 || t.compare(0, 3, "<0x") != 0 || t[5] != '>') return false;
  const auto hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'); };
  return hex(t[3]) && hex(t[4]);
}

// Llama-2 style: normalizer Sequence[Prepend("▁"), Replace(" " -> "▁")], no pre-tokenizer; or a
// Metaspace pre-tokenizer ("▁", prefix on the first word) with no normalizer.
bool is_sentencepiece_layout(const json& j) {
  const json normalizer = j.value("normalizer", json());
  const json pre = j.value("pre_tokenizer", json());
  if (type_of(normalizer) == "Sequence" && pre.is_null()) {
    const json n = normalizer.value("normalizers", json::array());
    if (n.size() != 2) return false;
    const bool prepend =
        type_of(n[0]) == "Prepend" && n[0].value("prepend", std::string()) == kSpmSpace;
    bool replace = false;
    if (type_of(n[1]) == "Replace") {
      const json pattern = n[1].value("pattern", json());
      replace = pattern.is_object() && pattern.value("String", std::string()) == " " &&
                n[1].value("content", std::string()) == kSpmSpace;
    }
    return prepend && replace;
  }
  if (type_of(pre) == "Metaspace" && normalizer.is_null()) {
    const bool first = pre.value("prepend_scheme", std::string()) == "first" ||
                       pre.value("prepend_scheme", std::string()) == "always" ||
                       pre.value("add_prefix_space", false);
    return pre.value("replacement", std::string()) == kSpmSpace && first &&
           pre.value("split", false) == false;
  }
  return false;
}

}  // namespace

TokenizerSpec parse_hf_tokenizer(const std::string& tokenizer_json, const std::string& config_json,
                                 const std::string& chat_template_jinja, std::int64_t vocab_size,
                                 const std::string& path) {
  const std::string cfg_path = dir_of(path) + "tokenizer_config.json";
  auto fail = [&](const std::string& what) -> void { throw HfError(path + ": " + what); };

  const json j = json::parse(tokenizer_json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) fail("not a valid JSON object");
  const auto mit = j.find("model");
  if (mit == j.end() || !mit->is_object()) fail("'model' is missing (expected the BPE model)");
  const json& model = *mit;
  const std::string mtype = type_of(model);
  if (mtype != "BPE")
    fail("model.type is " + quote(mtype) +
         ", expected 'BPE' (tritbench reads byte-level and SentencePiece-style BPE tokenizers)");
  const bool byte_fallback = model.value("byte_fallback", false);
  const bool spm = byte_fallback;

  // Ids: model.vocab plus added_tokens (which may repeat a vocab entry with the same text).
  const auto vit = model.find("vocab");
  if (vit == model.end() || !vit->is_object() || vit->empty())
    fail("model.vocab is missing or empty (expected {token: id})");
  constexpr std::int64_t kMaxId = std::int64_t{1} << 24;
  std::map<std::int64_t, std::string> by_id;
  std::map<std::int64_t, TokenType> added_type;
  for (auto it = vit->begin(); it != vit->end(); ++it) {
    if (!it.value().is_number_integer() || it.value().get<std::int64_t>() < 0 ||
        it.value().get<std::int64_t>() >= kMaxId)
      fail("model.vocab[" + quote(it.key()) + "] is " + it.value().dump() +
           " (expected a token id in [0, 2^24))");
    const auto id = it.value().get<std::int64_t>();
    const auto [at, fresh] = by_id.emplace(id, it.key());
    if (!fresh)
      fail("model.vocab: id " + std::to_string(id) + " is given to both " + quote(at->second) +
           " and " + quote(it.key()));
  }
  if (const auto at = j.find("added_tokens"); at != j.end() && !at->is_null()) {
    if (!at->is_array()) fail("'added_tokens' is not an array");
    for (std::size_t i = 0; i < at->size(); ++i) {
      const json& a = (*at)[i];
      const std::string where = "added_tokens[" + std::to_string(i) + "]";
      if (!a.is_object() || !a.contains("id") || !a["id"].is_number_integer() ||
          !a.contains("content") || !a["content"].is_string())
        fail(where + " is not {\"id\": integer, \"content\": string, ...}");
      const auto id = a["id"].get<std::int64_t>();
      const std::string content = a["content"].get<std::string>();
      if (id < 0 || id >= kMaxId)
        fail(where + ": id " + std::to_string(id) + " is outside [0, 2^24)");
      const auto [it, fresh] = by_id.emplace(id, content);
      if (!fresh && it->second != content)
        fail(where + ": id " + std::to_string(id) + " is " + quote(content) +
             " but model.vocab gives that id to " + quote(it->second));
      const bool special = a.value("special", false);
      added_type[id] = special ? TokenType::kControl : TokenType::kUserDefined;
    }
  }
  const std::int64_t n = by_id.rbegin()->first + 1;
  if (n > vocab_size)
    fail("the vocabulary has " + std::to_string(n) +
         " ids (model.vocab and added_tokens), more than "
         "config.json's vocab_size " +
         std::to_string(vocab_size));
  if (static_cast<std::int64_t>(by_id.size()) != n) {
    std::int64_t gap = 0;
    for (const auto& [id, _] : by_id) {
      if (id != gap) break;
      ++gap;
    }
    fail("no token has id " + std::to_string(gap) + " (ids must run from 0 to " +
         std::to_string(n - 1) + " without gaps)");
  }

  TokenizerSpec spec;
  spec.model = spm ? "llama" : "gpt2";
  spec.tokens.reserve(static_cast<std::size_t>(vocab_size));
  spec.types.reserve(static_cast<std::size_t>(vocab_size));
  const std::string unk_text = model.contains("unk_token") && model["unk_token"].is_string()
                                   ? model["unk_token"].get<std::string>()
                                   : "";
  for (const auto& [id, text] : by_id) {
    spec.tokens.push_back(text);
    TokenType t = TokenType::kNormal;
    if (spm && !unk_text.empty() && text == unk_text) {
      t = TokenType::kUnknown;  // also listed as a special added token in LLaMA-2's files
    } else if (const auto a = added_type.find(id); a != added_type.end()) {
      t = a->second;
    } else if (spm && is_byte_token(text)) {
      t = TokenType::kByte;
    }
    spec.types.push_back(t);
  }
  // Padding up to the model's vocabulary size: ids the model has embedding rows for but the
  // tokenizer never produces.
  for (std::int64_t id = n; id < vocab_size; ++id) {
    spec.tokens.push_back("[PAD" + std::to_string(id) + "]");
    spec.types.push_back(TokenType::kUnused);
  }
  std::map<std::string, std::int64_t> id_of;
  for (std::size_t i = 0; i < spec.tokens.size(); ++i) id_of.emplace(spec.tokens[i], i);

  // Merges, in rank order.
  const auto mg = model.find("merges");
  if (mg == model.end() || !mg->is_array() || mg->empty())
    fail("model.merges is missing or empty (a BPE tokenizer needs its merges)");
  if (spm) spec.scores.assign(spec.tokens.size(), 0.0f);
  std::vector<bool> scored(spm ? spec.tokens.size() : 0, false);
  spec.merges.reserve(mg->size());
  for (std::size_t r = 0; r < mg->size(); ++r) {
    const json& m = (*mg)[r];
    const std::string where = "model.merges[" + std::to_string(r) + "]";
    std::string a, b;
    if (m.is_string()) {
      const std::string s = m.get<std::string>();
      const auto sp = s.find(' ');
      if (sp == std::string::npos || sp == 0 || sp + 1 == s.size() ||
          s.find(' ', sp + 1) != std::string::npos)
        fail(where + " " + quote(s) + " is not two tokens separated by one space");
      a = s.substr(0, sp);
      b = s.substr(sp + 1);
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      a = m[0].get<std::string>();
      b = m[1].get<std::string>();
      if (a.empty() || b.empty() || a.find(' ') != std::string::npos ||
          b.find(' ') != std::string::npos)
        fail(where + " [" + quote(a) + ", " + quote(b) +
             "] has an empty part or a part with a space (GGUF stores merges as \"a b\")");
    } else {
      fail(where + " is " + m.dump().substr(0, 80) + " (expected \"a b\" or [\"a\", \"b\"])");
    }
    for (const std::string& part : {a, b, a + b})
      if (!id_of.count(part))
        fail(where + " " + quote(a + " " + b) + ": " + quote(part) + " is not in the vocabulary");
    if (spm) {
      const auto id = static_cast<std::size_t>(id_of[a + b]);
      if (!scored[id]) {
        spec.scores[id] = -static_cast<float>(r);
        scored[id] = true;
      }
    }
    spec.merges.push_back(a + " " + b);
  }
  if (spm) spec.merges.clear();  // SentencePiece merges by score; GGUF "llama" files have no merges

  // Pre-tokenizer and normalizer: only what the Tokenizer implements.
  if (spm) {
    if (!is_sentencepiece_layout(j))
      fail("normalizer " + quote(type_of(j.value("normalizer", json()))) + " / pre_tokenizer " +
           quote(type_of(j.value("pre_tokenizer", json()))) +
           " is not the SentencePiece layout this project implements (expected a normalizer "
           "Sequence[Prepend '▁', Replace ' ' -> '▁'] or a Metaspace pre-tokenizer)");
    if (!unk_text.empty()) {
      if (!id_of.count(unk_text)) fail("model.unk_token " + quote(unk_text) + " is not a token");
      spec.unk = id_of[unk_text];
    }
  } else {
    const json normalizer = j.value("normalizer", json());
    if (!normalizer.is_null())
      fail("normalizer " + quote(type_of(normalizer)) +
           " is not applied by tritbench's byte-level tokenizer (expected null)");
    const json pre = j.value("pre_tokenizer", json());
    const std::string llama3 = PreTokenizer::pattern(PreTokenizer::Kind::kLlama3);
    if (type_of(pre) == "Sequence") {
      const json parts = pre.value("pretokenizers", json::array());
      const bool ok = parts.size() == 2 && type_of(parts[0]) == "Split" &&
                      type_of(parts[1]) == "ByteLevel" &&
                      parts[1].value("use_regex", true) == false &&
                      parts[0].value("behavior", std::string()) == "Isolated" &&
                      parts[0].value("invert", false) == false;
      const json pattern = ok ? parts[0].value("pattern", json()) : json();
      const std::string regex =
          pattern.is_object() ? pattern.value("Regex", std::string()) : std::string();
      if (!ok)
        fail(
            "pre_tokenizer: a Sequence other than [Split (Isolated), ByteLevel (use_regex false)] "
            "is not supported (expected LLaMA-3's or GPT-2's byte-level pre-tokenizer)");
      if (regex != llama3)
        fail("pre_tokenizer: Split regex " + quote(regex) +
             " is not LLaMA-3's (the only Split pattern this project implements)");
      spec.pre = "llama-bpe";
    } else if (type_of(pre) == "ByteLevel") {
      if (pre.value("use_regex", true) != true || pre.value("add_prefix_space", false) != false)
        fail(
            "pre_tokenizer: ByteLevel with use_regex false or add_prefix_space true is not "
            "supported (expected GPT-2's: use_regex true, add_prefix_space false)");
      spec.pre = "gpt2";
    } else {
      fail("pre_tokenizer " + quote(type_of(pre)) +
           " is not supported (expected LLaMA-3's Split regex + ByteLevel, or GPT-2's ByteLevel)");
    }
  }

  // tokenizer_config.json: special tokens, add_bos / add_eos, chat template.
  std::string bos_text, eos_text;
  bool have_add_bos = false;
  if (!config_json.empty()) {
    const json c = json::parse(config_json, nullptr, false);
    if (c.is_discarded() || !c.is_object()) throw HfError(cfg_path + ": not a valid JSON object");
    bos_text = token_field(c, "bos_token", cfg_path);
    eos_text = token_field(c, "eos_token", cfg_path);
    for (const char* key : {"add_bos_token", "add_eos_token"}) {
      const auto it = c.find(key);
      if (it == c.end() || it->is_null()) continue;
      if (!it->is_boolean())
        throw HfError(cfg_path + ": field '" + key + "' is " + it->dump() +
                      " (expected true or false)");
      (key[4] == 'b' ? spec.add_bos : spec.add_eos) = it->get<bool>();
      if (key[4] == 'b') have_add_bos = true;
    }
    if (const auto ct = c.find("chat_template"); ct != c.end() && !ct->is_null()) {
      if (ct->is_string()) {
        spec.chat_template = ct->get<std::string>();
      } else if (ct->is_array() && !ct->empty()) {
        for (const auto& e : *ct)
          if (e.is_object() && e.value("name", std::string()) == "default" &&
              e.contains("template") && e["template"].is_string())
            spec.chat_template = e["template"].get<std::string>();
        if (spec.chat_template.empty() && (*ct)[0].is_object() && (*ct)[0].contains("template") &&
            (*ct)[0]["template"].is_string())
          spec.chat_template = (*ct)[0]["template"].get<std::string>();
      } else {
        throw HfError(cfg_path +
                      ": field 'chat_template' is neither a string nor a list of "
                      "{\"name\", \"template\"}");
      }
    }
  }
  if (spec.chat_template.empty()) spec.chat_template = chat_template_jinja;
  auto resolve = [&](const std::string& text, const char* field,
                     std::initializer_list<const char*> fallback) -> std::int64_t {
    if (!text.empty()) {
      const auto it = id_of.find(text);
      if (it == id_of.end())
        throw HfError(cfg_path + ": field '" + field + "' is " + quote(text) +
                      ", which is not a token of " + path);
      return it->second;
    }
    for (const char* f : fallback)
      if (const auto it = id_of.find(f); it != id_of.end()) return it->second;
    return -1;
  };
  spec.bos = resolve(bos_text, "bos_token", {"<|begin_of_text|>", "<s>"});
  spec.eos = resolve(eos_text, "eos_token", {"<|end_of_text|>", "</s>"});
  if (!have_add_bos && spec.bos >= 0)
    spec.add_bos = template_starts_with(j.value("post_processor", json()),
                                        spec.tokens[static_cast<std::size_t>(spec.bos)]);
  if (spec.add_bos && spec.bos < 0)
    throw HfError(cfg_path + ": add_bos_token is true but there is no bos_token");
  if (spec.add_eos && spec.eos < 0)
    throw HfError(cfg_path + ": add_eos_token is true but there is no eos_token");

  // Build it once: whatever the Tokenizer refuses is refused here, naming this file.
  try {
    const Tokenizer check(spec);
  } catch (const std::invalid_argument& e) {
    fail(std::string("does not make a valid vocabulary: ") + e.what());
  }
  return spec;
}

}  // namespace tritbench::models
