#include "models/tokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <cstdio>
#include <stdexcept>
#include <utility>

namespace tritbench::models {

// ---------------------------------------------------------------------------------------------
// UTF-8 and GPT-2's byte-level alphabet

namespace {

constexpr std::string_view kSpmSpace = "\xE2\x96\x81";  // U+2581 "▁"

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Decodes the well-formed sequence of length len at s[i].
std::uint32_t decode_utf8(std::string_view s, std::size_t i, int len) {
  const auto b = [&](std::size_t k) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(s[i + k]));
  };
  switch (len) {
    case 1:
      return b(0);
    case 2:
      return ((b(0) & 0x1F) << 6) | (b(1) & 0x3F);
    case 3:
      return ((b(0) & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
    default:
      return ((b(0) & 0x07) << 18) | ((b(1) & 0x3F) << 12) | ((b(2) & 0x3F) << 6) | (b(3) & 0x3F);
  }
}

bool self_mapped(int b) { return (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174); }

struct ByteLevel {
  std::array<std::uint32_t, 256> to_cp{};
  std::array<std::string, 256> text;
  std::array<std::int16_t, 324> from_cp{};  // code point (< 256 + 68) -> byte, -1 if none
  ByteLevel() {
    from_cp.fill(-1);
    std::uint32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      to_cp[b] = self_mapped(b) ? static_cast<std::uint32_t>(b) : next++;
      from_cp[to_cp[b]] = static_cast<std::int16_t>(b);
      append_utf8(text[b], to_cp[b]);
    }
  }
};

const ByteLevel& byte_level() {
  static const ByteLevel table;
  return table;
}

// A token text for an error message: control bytes escaped, long texts cut.
std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size() && i < 48; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7F || c == '"' || c == '\\') {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > 48) out += "...";
  return out + "\"";
}

std::string hex_byte(unsigned b) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02X", b);
  return buf;
}

}  // namespace

std::string gpt2_byte_text(std::uint8_t byte) { return byte_level().text[byte]; }

std::string gpt2_bytes_to_text(std::string_view bytes) {
  const ByteLevel& bl = byte_level();
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char c : bytes) out += bl.text[static_cast<unsigned char>(c)];
  return out;
}

int utf8_sequence_length(std::string_view s, std::size_t i) {
  const std::size_t n = s.size();
  const auto at = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned c = at(i);
  if (c < 0x80) return 1;
  const auto cont = [&](std::size_t k, unsigned lo, unsigned hi) {
    return k < n && at(k) >= lo && at(k) <= hi;
  };
  if (c < 0xC2) return 0;  // continuation byte, or an overlong 2-byte lead (C0, C1)
  if (c < 0xE0) return cont(i + 1, 0x80, 0xBF) ? 2 : 0;
  if (c < 0xF0) {
    const unsigned lo = c == 0xE0 ? 0xA0 : 0x80;  // E0 80..9F: overlong
    const unsigned hi = c == 0xED ? 0x9F : 0xBF;  // ED A0..BF: UTF-16 surrogates
    return cont(i + 1, lo, hi) && cont(i + 2, 0x80, 0xBF) ? 3 : 0;
  }
  if (c < 0xF5) {
    const unsigned lo = c == 0xF0 ? 0x90 : 0x80;  // F0 80..8F: overlong
    const unsigned hi = c == 0xF4 ? 0x8F : 0xBF;  // F4 90..: above U+10FFFF
    return cont(i + 1, lo, hi) && cont(i + 2, 0x80, 0xBF) && cont(i + 3, 0x80, 0xBF) ? 4 : 0;
  }
  return 0;  // F5..FF never occur in UTF-8
}

std::size_t utf8_incomplete_tail(std::string_view s) {
  const std::size_t n = s.size();
  for (std::size_t k = 1; k <= 3 && k <= n; ++k) {
    const auto c = static_cast<unsigned char>(s[n - k]);
    if ((c & 0xC0) == 0x80) continue;  // continuation: look further back for the lead
    const std::size_t need = c >= 0xC2 && c < 0xE0   ? 2
                             : c >= 0xE0 && c < 0xF0 ? 3
                             : c >= 0xF0 && c < 0xF5 ? 4
                                                     : 0;
    if (need <= k) return 0;  // ASCII, invalid lead, or a sequence that is already complete
    // Hold back only if the bytes so far can still become a valid sequence: complete them with
    // the smallest continuation bytes allowed (the second byte's range depends on the lead) and
    // validate that.
    std::string probe(s.substr(n - k));
    if (probe.size() == 1) probe += static_cast<char>(c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : 0x80);
    while (probe.size() < need) probe += static_cast<char>(0x80);
    return utf8_sequence_length(probe, 0) == static_cast<int>(need) ? k : 0;
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// PreTokenizer

namespace {

// LLaMA-3 (tiktoken cl100k-style) and GPT-2 split patterns.
constexpr const char* kLlama3Pattern =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+"
    "[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
constexpr const char* kGpt2Pattern =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

std::string pcre2_message(int code) {
  PCRE2_UCHAR buf[256];
  const int n = pcre2_get_error_message(code, buf, sizeof buf);
  return n < 0 ? "PCRE2 error " + std::to_string(code) : std::string(reinterpret_cast<char*>(buf));
}

}  // namespace

struct PreTokenizer::Impl {
  pcre2_code* code = nullptr;
  bool jit = false;
  ~Impl() { pcre2_code_free(code); }

  // Splits a valid UTF-8 run.
  void split_valid(std::string_view run, std::vector<std::string_view>& out) const {
    struct MatchData {
      pcre2_match_data* md;
      ~MatchData() { pcre2_match_data_free(md); }
    } m{pcre2_match_data_create_from_pattern(code, nullptr)};
    if (!m.md) throw std::bad_alloc();
    const auto* subject = reinterpret_cast<PCRE2_SPTR>(run.data());
    std::size_t off = 0;
    while (off < run.size()) {
      const int rc = pcre2_match(code, subject, run.size(), off, PCRE2_NO_UTF_CHECK, m.md, nullptr);
      if (rc == PCRE2_ERROR_NOMATCH) {
        out.push_back(run.substr(off));
        return;
      }
      if (rc < 0)
        throw std::runtime_error("pre-tokenizer: PCRE2 match failed: " + pcre2_message(rc));
      const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(m.md);
      const std::size_t start = ov[0];
      std::size_t end = ov[1];
      // Both patterns match every character, so neither a gap nor an empty match can occur;
      // handled anyway so the pieces always concatenate to the input.
      if (start > off) out.push_back(run.substr(off, start - off));
      if (end <= start) end = start + static_cast<std::size_t>(utf8_sequence_length(run, start));
      out.push_back(run.substr(start, end - start));
      off = end;
    }
  }
};

PreTokenizer::PreTokenizer(Kind kind) : kind_(kind), impl_(std::make_unique<Impl>()) {
  const char* pattern = kind == Kind::kLlama3 ? kLlama3Pattern : kGpt2Pattern;
  int err = 0;
  PCRE2_SIZE err_off = 0;
  impl_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern), PCRE2_ZERO_TERMINATED,
                              PCRE2_UTF | PCRE2_UCP, &err, &err_off, nullptr);
  if (!impl_->code) {
    throw std::runtime_error("pre-tokenizer: PCRE2 cannot compile the split pattern at offset " +
                             std::to_string(err_off) + ": " + pcre2_message(err));
  }
  // JIT is an optimization: without it (library built without JIT, or no executable memory)
  // pcre2_match runs the interpreter on the same pattern, with the same results.
  impl_->jit = pcre2_jit_compile(impl_->code, PCRE2_JIT_COMPLETE) == 0;
}

bool PreTokenizer::jit() const { return impl_->jit; }

const char* PreTokenizer::pattern(Kind kind) {
  return kind == Kind::kLlama3 ? kLlama3Pattern : kGpt2Pattern;
}

PreTokenizer::~PreTokenizer() = default;
PreTokenizer::PreTokenizer(PreTokenizer&&) noexcept = default;
PreTokenizer& PreTokenizer::operator=(PreTokenizer&&) noexcept = default;

void PreTokenizer::split(std::string_view text, std::vector<std::string_view>& out) const {
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    std::size_t j = i;
    for (int len; j < n && (len = utf8_sequence_length(text, j)) > 0;)
      j += static_cast<std::size_t>(len);
    if (j > i) impl_->split_valid(text.substr(i, j - i), out);
    std::size_t k = j;
    while (k < n && utf8_sequence_length(text, k) == 0) ++k;
    if (k > j) out.push_back(text.substr(j, k - j));
    i = k;
  }
}

std::vector<std::string> PreTokenizer::split(std::string_view text) const {
  std::vector<std::string_view> views;
  split(text, views);
  return {views.begin(), views.end()};
}

// ---------------------------------------------------------------------------------------------
// Tokenizer: construction

const char* chat_format_name(ChatFormat f) {
  switch (f) {
    case ChatFormat::kNone:
      return "none";
    case ChatFormat::kUnknown:
      return "unknown";
    case ChatFormat::kBitnet2B4T:
      return "bitnet-2b4t";
    case ChatFormat::kLlama3:
      return "llama3";
  }
  return "?";
}

namespace {

bool contains(std::string_view s, std::string_view what) {
  return s.find(what) != std::string_view::npos;
}

ChatFormat detect_chat_format(std::string_view t) {
  if (t.empty()) return ChatFormat::kNone;
  if (contains(t, "<|start_header_id|>") && contains(t, "<|end_header_id|>"))
    return ChatFormat::kLlama3;
  // The placeholder in the official 2B-4T GGUF (see tokenizer.h) and the HF template.
  if (contains(t, "BITNETAssistant")) return ChatFormat::kBitnet2B4T;
  if (contains(t, "capitalize") && contains(t, "<|eot_id|>") && contains(t, "Assistant: "))
    return ChatFormat::kBitnet2B4T;
  return ChatFormat::kUnknown;
}

void check_id(const char* field, std::int64_t id, std::size_t n) {
  if (id < -1 || id >= static_cast<std::int64_t>(n)) {
    throw std::invalid_argument(std::string(field) + ": " + std::to_string(id) +
                                " out of range [0, " + std::to_string(n) +
                                ") of tokenizer.ggml.tokens (or -1 for none)");
  }
}

}  // namespace

Tokenizer::Tokenizer(TokenizerSpec spec) : spec_(std::move(spec)) {
  validate_and_index();
  if (gpt2_) {
    build_gpt2();
  } else {
    build_llama();
  }
  chat_format_ = detect_chat_format(spec_.chat_template);
}

Tokenizer::~Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;

void Tokenizer::validate_and_index() {
  if (spec_.model == "gpt2") {
    gpt2_ = true;
  } else if (spec_.model == "llama") {
    gpt2_ = false;
  } else {
    throw std::invalid_argument(
        "tokenizer.ggml.model: unknown tokenizer model " + quoted(spec_.model) +
        " (expected \"gpt2\" for byte-level BPE or \"llama\" for SentencePiece)");
  }
  const std::size_t n = spec_.tokens.size();
  if (n == 0) throw std::invalid_argument("tokenizer.ggml.tokens: empty");
  if (n > 0x7FFFFFFF) throw std::invalid_argument("tokenizer.ggml.tokens: more than 2^31-1 tokens");
  if (!spec_.scores.empty() && spec_.scores.size() != n) {
    throw std::invalid_argument("tokenizer.ggml.scores: " + std::to_string(spec_.scores.size()) +
                                " entries, expected " + std::to_string(n) +
                                " (one per tokenizer.ggml.tokens entry)");
  }
  if (!spec_.types.empty() && spec_.types.size() != n) {
    throw std::invalid_argument("tokenizer.ggml.token_type: " + std::to_string(spec_.types.size()) +
                                " entries, expected " + std::to_string(n) +
                                " (one per tokenizer.ggml.tokens entry)");
  }
  for (std::size_t i = 0; i < spec_.types.size(); ++i) {
    const auto t = static_cast<std::int32_t>(spec_.types[i]);
    if (t < 0 || t > 6) {
      throw std::invalid_argument("tokenizer.ggml.token_type[" + std::to_string(i) +
                                  "]: " + std::to_string(t) + " (expected 0..6)");
    }
  }
  check_id("tokenizer.ggml.bos_token_id", spec_.bos, n);
  check_id("tokenizer.ggml.eos_token_id", spec_.eos, n);
  check_id("tokenizer.ggml.unknown_token_id", spec_.unk, n);
  check_id("tokenizer.ggml.padding_token_id", spec_.pad, n);
  if (spec_.add_bos && spec_.bos < 0) {
    throw std::invalid_argument(
        "tokenizer.ggml.add_bos_token: true, but tokenizer.ggml.bos_token_id is not set");
  }
  if (spec_.add_eos && spec_.eos < 0) {
    throw std::invalid_argument(
        "tokenizer.ggml.add_eos_token: true, but tokenizer.ggml.eos_token_id is not set");
  }

  token_to_id_.reserve(n);
  special_.reserve(n / 64 + 16);
  control_.assign(n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    const auto id = static_cast<std::int32_t>(i);
    const auto [it, fresh] = token_to_id_.emplace(spec_.tokens[i], id);
    if (!fresh) {
      throw std::invalid_argument("tokenizer.ggml.tokens: duplicate token " +
                                  quoted(spec_.tokens[i]) + " at ids " +
                                  std::to_string(it->second) + " and " + std::to_string(i));
    }
    const TokenType t = spec_.types.empty() ? TokenType::kNormal : spec_.types[i];
    if (t == TokenType::kControl || t == TokenType::kUserDefined) {
      control_[i] = 1;
      const std::string_view text = spec_.tokens[i];
      if (text.empty()) continue;  // an empty control token would match everywhere
      special_.emplace(text, id);
      special_first_[static_cast<unsigned char>(text[0])] = true;
      if (std::find(special_lengths_.begin(), special_lengths_.end(), text.size()) ==
          special_lengths_.end())
        special_lengths_.push_back(text.size());
    }
  }
  std::sort(special_lengths_.begin(), special_lengths_.end(), std::greater<>());

  if (spec_.eos >= 0) eog_.push_back(static_cast<std::int32_t>(spec_.eos));
  for (const char* t : {"<|eot_id|>", "<|end_of_text|>", "<|eom_id|>"}) {
    if (const std::int32_t id = find_token(t); id >= 0) eog_.push_back(id);
  }
  std::sort(eog_.begin(), eog_.end());
  eog_.erase(std::unique(eog_.begin(), eog_.end()), eog_.end());
}

void Tokenizer::build_gpt2() {
  const ByteLevel& bl = byte_level();
  for (int b = 0; b < 256; ++b) {
    const auto it = token_to_id_.find(bl.text[b]);
    if (it == token_to_id_.end()) {
      throw std::invalid_argument("tokenizer.ggml.tokens: vocabulary lacks byte " + hex_byte(b) +
                                  " token " + quoted(bl.text[b]) +
                                  " (a gpt2 vocabulary has one byte-level token per byte)");
    }
    byte_token_[b] = it->second;
  }
  if (spec_.merges.empty()) {
    throw std::invalid_argument("tokenizer.ggml.merges: empty (a gpt2 tokenizer needs merges)");
  }
  merges_.reserve(spec_.merges.size());
  std::string joined;
  for (std::size_t r = 0; r < spec_.merges.size(); ++r) {
    const std::string_view m = spec_.merges[r];
    const std::size_t sp = m.find(' ');
    const auto where = [&] {
      return "tokenizer.ggml.merges[" + std::to_string(r) + "]: " + quoted(m);
    };
    if (sp == std::string_view::npos || sp == 0 || sp + 1 == m.size() ||
        m.find(' ', sp + 1) != std::string_view::npos) {
      throw std::invalid_argument(where() + " is not two tokens separated by one space");
    }
    const std::string_view a = m.substr(0, sp), b = m.substr(sp + 1);
    joined.assign(a).append(b);
    std::int32_t ids[3];
    const std::string_view parts[3] = {a, b, joined};
    for (int k = 0; k < 3; ++k) {
      const auto it = token_to_id_.find(parts[k]);
      if (it == token_to_id_.end()) {
        throw std::invalid_argument(where() + ": " + quoted(parts[k]) +
                                    " is not in tokenizer.ggml.tokens");
      }
      ids[k] = it->second;
    }
    const std::uint64_t key =
        (static_cast<std::uint64_t>(ids[0]) << 32) | static_cast<std::uint32_t>(ids[1]);
    merges_.emplace(
        key, Merge{static_cast<std::int32_t>(r), ids[2]});  // a repeated pair keeps its first rank
  }

  // A missing key (the official 2B-4T GGUF has none) means LLaMA-3's split: that is the
  // pre-tokenizer its HF tokenizer.json declares. The other names are llama.cpp's for the same
  // regex.
  const std::string& p = spec_.pre;
  PreTokenizer::Kind kind;
  if (p.empty() || p == "llama-bpe" || p == "llama3" || p == "llama-v3" || p == "falcon3") {
    kind = PreTokenizer::Kind::kLlama3;
    // LLaMA-3's tokenizer.json sets ignore_merges: a pre-token that is itself a token is
    // emitted whole, whatever the merges would have made of it.
    ignore_merges_ = true;
  } else if (p == "default" || p == "gpt2") {
    kind = PreTokenizer::Kind::kGpt2;
  } else {
    throw std::invalid_argument(
        "tokenizer.ggml.pre: unsupported pre-tokenizer " + quoted(p) +
        " (supported: llama-bpe, llama3, llama-v3, falcon3, default, gpt2)");
  }
  pre_ = std::make_unique<PreTokenizer>(kind);

  const std::size_t n = spec_.tokens.size();
  piece_bytes_.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::string& t = spec_.tokens[i];
    if (control_[i]) continue;  // rendered from spec_.tokens
    // Byte-level text back to bytes. A token with a character outside the 256-symbol alphabet
    // (not produced by any gpt2 converter) is rendered as its own UTF-8 text.
    std::string bytes;
    bool ok = true;
    for (std::size_t k = 0; k < t.size() && ok;) {
      const int len = utf8_sequence_length(t, k);
      const std::uint32_t cp = len > 0 ? decode_utf8(t, k, len) : 0xFFFFFFFFu;
      ok = cp < bl.from_cp.size() && bl.from_cp[cp] >= 0;
      if (ok) bytes += static_cast<char>(bl.from_cp[cp]);
      k += len > 0 ? static_cast<std::size_t>(len) : 1;
    }
    piece_bytes_[i] = ok ? std::move(bytes) : t;
  }
}

void Tokenizer::build_llama() {
  const std::size_t n = spec_.tokens.size();
  if (spec_.scores.empty()) {
    throw std::invalid_argument(
        "tokenizer.ggml.scores: empty (a llama tokenizer merges pieces by score)");
  }
  const auto type = [&](std::size_t i) {
    return spec_.types.empty() ? TokenType::kNormal : spec_.types[i];
  };
  is_byte_.assign(n, 0);
  has_byte_tokens_ = true;
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    const auto it = token_to_id_.find(name);
    const bool ok =
        it != token_to_id_.end() &&
        (spec_.types.empty() || type(static_cast<std::size_t>(it->second)) == TokenType::kByte);
    byte_token_[b] = ok ? it->second : -1;
    if (ok) is_byte_[static_cast<std::size_t>(it->second)] = 1;
    has_byte_tokens_ = has_byte_tokens_ && ok;
  }
  if (!has_byte_tokens_ && spec_.unk < 0) {
    throw std::invalid_argument(
        "tokenizer.ggml.unknown_token_id: not set, and tokenizer.ggml.tokens lacks the byte tokens "
        "<0x00>..<0xFF> (a llama tokenizer needs one or the other for characters outside the "
        "vocabulary)");
  }
  mergeable_.assign(n, 0);
  piece_bytes_.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    const TokenType t = type(i);
    mergeable_[i] = (t == TokenType::kNormal || t == TokenType::kUndefined) && !is_byte_[i];
    const std::string& text = spec_.tokens[i];
    if (is_byte_[i]) {
      piece_bytes_[i] =
          std::string(1, static_cast<char>(std::stoi(text.substr(3, 2), nullptr, 16)));
    } else if (control_[i]) {
      continue;  // rendered from spec_.tokens
    } else {
      std::string& p = piece_bytes_[i];
      for (std::size_t k = 0; k < text.size();) {
        if (text.compare(k, kSpmSpace.size(), kSpmSpace) == 0) {
          p += ' ';
          k += kSpmSpace.size();
        } else {
          p += text[k++];
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Encoding

std::int32_t Tokenizer::find_token(std::string_view text) const {
  const auto it = token_to_id_.find(text);
  return it == token_to_id_.end() ? -1 : it->second;
}

bool Tokenizer::is_eog(std::int32_t id) const {
  return std::binary_search(eog_.begin(), eog_.end(), id);
}

bool Tokenizer::is_control(std::int32_t id) const {
  return id >= 0 && id < vocab_size() && control_[static_cast<std::size_t>(id)];
}

std::vector<std::int32_t> Tokenizer::encode(std::string_view text, bool add_special,
                                            bool parse_special) const {
  std::vector<std::int32_t> out;
  out.reserve(text.size() / 3 + 4);
  if (add_special && spec_.add_bos) out.push_back(bos());
  const std::size_t n = text.size();
  std::size_t start = 0;  // start of the pending text fragment
  bool first_fragment = true;
  if (parse_special && !special_.empty()) {
    for (std::size_t i = 0; i < n;) {
      std::int32_t hit = -1;
      std::size_t hit_len = 0;
      if (special_first_[static_cast<unsigned char>(text[i])]) {
        for (const std::size_t len : special_lengths_) {  // longest first
          if (len > n - i) continue;
          const auto it = special_.find(text.substr(i, len));
          if (it != special_.end()) {
            hit = it->second;
            hit_len = len;
            break;
          }
        }
      }
      if (hit < 0) {
        ++i;
        continue;
      }
      if (i > start) {
        encode_text(text.substr(start, i - start), first_fragment, out);
        first_fragment = false;
      }
      out.push_back(hit);
      i += hit_len;
      start = i;
    }
  }
  if (start < n) encode_text(text.substr(start), first_fragment, out);
  if (add_special && spec_.add_eos) out.push_back(eos());
  return out;
}

void Tokenizer::encode_text(std::string_view text, bool first_fragment,
                            std::vector<std::int32_t>& out) const {
  if (!gpt2_) {
    // The dummy-prefix "▁" goes on the first text fragment only, whether or not a special token
    // precedes it; decode drops the leading space of the first text piece, so the pair round-trips.
    bpe_llama(text, first_fragment, out);
    return;
  }
  std::vector<std::string_view> pieces;
  pre_->split(text, pieces);
  for (const std::string_view p : pieces) bpe_gpt2(p, out);
}

void Tokenizer::bpe_gpt2(std::string_view piece, std::vector<std::int32_t>& out) const {
  if (piece.size() == 1) {
    out.push_back(byte_token_[static_cast<unsigned char>(piece[0])]);
    return;
  }
  if (ignore_merges_) {
    const auto it = token_to_id_.find(gpt2_bytes_to_text(piece));
    if (it != token_to_id_.end() && !control_[static_cast<std::size_t>(it->second)]) {
      out.push_back(it->second);
      return;
    }
  }
  // Standard BPE: repeatedly merge the adjacent pair with the lowest merge rank (leftmost on a
  // tie). Symbols form a linked list; candidate pairs sit in a min-heap and are re-validated when
  // popped, so each merge costs O(log n).
  struct Sym {
    std::int32_t id, prev, next;
  };
  struct Cand {
    std::int32_t rank, left, right, lid, rid, result;
  };
  const auto worse = [](const Cand& x, const Cand& y) {
    return x.rank != y.rank ? x.rank > y.rank : x.left > y.left;
  };
  const auto n = static_cast<std::int32_t>(piece.size());
  std::vector<Sym> sym(static_cast<std::size_t>(n));
  for (std::int32_t i = 0; i < n; ++i) {
    sym[static_cast<std::size_t>(i)] = {
        byte_token_[static_cast<unsigned char>(piece[static_cast<std::size_t>(i)])], i - 1,
        i + 1 < n ? i + 1 : -1};
  }
  std::vector<Cand> heap;
  const auto push = [&](std::int32_t l, std::int32_t r) {
    if (l < 0 || r < 0) return;
    const std::int32_t lid = sym[static_cast<std::size_t>(l)].id,
                       rid = sym[static_cast<std::size_t>(r)].id;
    const auto it =
        merges_.find((static_cast<std::uint64_t>(lid) << 32) | static_cast<std::uint32_t>(rid));
    if (it == merges_.end()) return;
    heap.push_back({it->second.rank, l, r, lid, rid, it->second.result});
    std::push_heap(heap.begin(), heap.end(), worse);
  };
  for (std::int32_t i = 0; i + 1 < n; ++i) push(i, i + 1);
  std::vector<std::uint8_t> dead(static_cast<std::size_t>(n), 0);
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), worse);
    const Cand c = heap.back();
    heap.pop_back();
    Sym& L = sym[static_cast<std::size_t>(c.left)];
    if (dead[static_cast<std::size_t>(c.left)] || L.next != c.right || L.id != c.lid ||
        sym[static_cast<std::size_t>(c.right)].id != c.rid) {
      continue;  // stale: one side was merged since this pair was queued
    }
    const Sym& R = sym[static_cast<std::size_t>(c.right)];
    L.id = c.result;
    dead[static_cast<std::size_t>(c.right)] = 1;
    L.next = R.next;
    if (L.next >= 0) sym[static_cast<std::size_t>(L.next)].prev = c.left;
    push(L.prev, c.left);
    push(c.left, L.next);
  }
  for (std::int32_t i = 0; i >= 0; i = sym[static_cast<std::size_t>(i)].next) {
    out.push_back(sym[static_cast<std::size_t>(i)].id);
  }
}

void Tokenizer::bpe_llama(std::string_view text, bool dummy_prefix,
                          std::vector<std::int32_t>& out) const {
  std::string norm;
  norm.reserve(text.size() + 3 + text.size() / 4);
  if (dummy_prefix) norm += kSpmSpace;
  for (const char c : text) {
    if (c == ' ') {
      norm += kSpmSpace;
    } else {
      norm += c;
    }
  }
  // Symbols start as UTF-8 characters; an invalid byte is a symbol of its own (never a piece, so
  // it reaches byte fallback unchanged).
  struct Sym {
    std::size_t start, len;
    std::int32_t prev, next;
  };
  std::vector<Sym> sym;
  for (std::size_t i = 0; i < norm.size();) {
    const int l = utf8_sequence_length(norm, i);
    const std::size_t len = l > 0 ? static_cast<std::size_t>(l) : 1;
    const auto idx = static_cast<std::int32_t>(sym.size());
    sym.push_back({i, len, idx - 1, -1});
    if (idx > 0) sym[static_cast<std::size_t>(idx - 1)].next = idx;
    i += len;
  }
  const auto piece_id = [&](std::string_view p) -> std::int32_t {
    const auto it = token_to_id_.find(p);
    return it != token_to_id_.end() && mergeable_[static_cast<std::size_t>(it->second)] ? it->second
                                                                                        : -1;
  };
  // SentencePiece BPE: merge the adjacent pair whose concatenation is a piece with the highest
  // score (leftmost on a tie), until no adjacent pair forms a piece.
  struct Cand {
    float score;
    std::int32_t left, right;
    std::size_t len;
  };
  const auto worse = [](const Cand& x, const Cand& y) {
    return x.score != y.score ? x.score < y.score : x.left > y.left;
  };
  std::vector<Cand> heap;
  const auto push = [&](std::int32_t l, std::int32_t r) {
    if (l < 0 || r < 0) return;
    const Sym& a = sym[static_cast<std::size_t>(l)];
    const Sym& b = sym[static_cast<std::size_t>(r)];
    const std::int32_t id = piece_id(std::string_view(norm).substr(a.start, a.len + b.len));
    if (id < 0) return;
    heap.push_back({spec_.scores[static_cast<std::size_t>(id)], l, r, a.len + b.len});
    std::push_heap(heap.begin(), heap.end(), worse);
  };
  for (std::size_t i = 0; i + 1 < sym.size(); ++i) {
    push(static_cast<std::int32_t>(i), static_cast<std::int32_t>(i + 1));
  }
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), worse);
    const Cand c = heap.back();
    heap.pop_back();
    Sym& L = sym[static_cast<std::size_t>(c.left)];
    Sym& R = sym[static_cast<std::size_t>(c.right)];
    if (L.len == 0 || R.len == 0 || L.next != c.right || L.len + R.len != c.len) continue;  // stale
    L.len += R.len;
    R.len = 0;
    L.next = R.next;
    if (L.next >= 0) sym[static_cast<std::size_t>(L.next)].prev = c.left;
    push(L.prev, c.left);
    push(c.left, L.next);
  }
  for (std::int32_t i = sym.empty() ? -1 : 0; i >= 0; i = sym[static_cast<std::size_t>(i)].next) {
    const Sym& s = sym[static_cast<std::size_t>(i)];
    const std::string_view p = std::string_view(norm).substr(s.start, s.len);
    if (const std::int32_t id = piece_id(p); id >= 0) {
      out.push_back(id);
    } else if (has_byte_tokens_) {
      for (const char ch : p) out.push_back(byte_token_[static_cast<unsigned char>(ch)]);
    } else {
      out.push_back(static_cast<std::int32_t>(spec_.unk));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Decoding

void Tokenizer::append_piece(std::string& out, std::int32_t id, bool skip_special,
                             bool& seen_text) const {
  if (id < 0 || id >= vocab_size()) {
    throw std::out_of_range("token id " + std::to_string(id) + " out of range [0, " +
                            std::to_string(vocab_size()) + ")");
  }
  const auto i = static_cast<std::size_t>(id);
  if (control_[i]) {
    if (!skip_special) out += spec_.tokens[i];
    return;
  }
  const std::string& p = piece_bytes_[i];
  if (!gpt2_ && !seen_text) {
    seen_text = true;
    // The dummy prefix: the first text piece's leading "▁" is not part of the text.
    if (spec_.tokens[i].starts_with(kSpmSpace)) {
      out.append(p, 1);
      return;
    }
  }
  out += p;
}

std::string Tokenizer::decode(std::span<const std::int32_t> ids, bool skip_special) const {
  std::string out;
  bool seen_text = false;
  for (const std::int32_t id : ids) append_piece(out, id, skip_special, seen_text);
  return out;
}

std::string Tokenizer::token_text(std::int32_t id) const {
  if (id < 0 || id >= vocab_size()) {
    throw std::out_of_range("token id " + std::to_string(id) + " out of range [0, " +
                            std::to_string(vocab_size()) + ")");
  }
  const auto i = static_cast<std::size_t>(id);
  return control_[i] ? spec_.tokens[i] : piece_bytes_[i];
}

std::string TokenStreamer::push(std::int32_t id) {
  tok_->append_piece(pending_, id, skip_special_, seen_text_);
  const std::size_t keep = utf8_incomplete_tail(pending_);
  std::string ready = pending_.substr(0, pending_.size() - keep);
  pending_.erase(0, pending_.size() - keep);
  return ready;
}

std::string TokenStreamer::finish() {
  std::string rest = std::move(pending_);
  pending_.clear();
  seen_text_ = false;
  return rest;
}

// ---------------------------------------------------------------------------------------------
// Chat templates

namespace {

std::string_view trim_ascii(std::string_view s) {
  constexpr std::string_view ws = " \t\n\r\f\v";
  const std::size_t b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

// jinja's |capitalize: first character upper case, the rest lower case (ASCII).
std::string capitalize(std::string_view s) {
  std::string out(s);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const char c = out[i];
    if (i == 0 && c >= 'a' && c <= 'z') out[i] = static_cast<char>(c - 'a' + 'A');
    if (i > 0 && c >= 'A' && c <= 'Z') out[i] = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

std::string Tokenizer::apply_chat_template(std::span<const ChatMessage> messages,
                                           bool add_generation_prompt) const {
  if (chat_format_ == ChatFormat::kNone) {
    throw std::invalid_argument(
        "tokenizer.chat_template: missing (this model file has no chat "
        "template, so it cannot be prompted in chat form)");
  }
  if (chat_format_ == ChatFormat::kUnknown) {
    throw std::invalid_argument(
        "tokenizer.chat_template: unsupported template " + quoted(spec_.chat_template) +
        " (supported: BitNet-b1.58-2B-4T's \"Role: content<|eot_id|>\" form and LLaMA-3's "
        "<|start_header_id|>role<|end_header_id|> form)");
  }
  std::string s;
  const std::string_view t = spec_.chat_template;
  if (spec_.bos >= 0 && (contains(t, "bos_token") ||
                         contains(t, spec_.tokens[static_cast<std::size_t>(spec_.bos)]))) {
    s += spec_.tokens[static_cast<std::size_t>(spec_.bos)];
  }
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const ChatMessage& m = messages[i];
    if (m.role.empty())
      throw std::invalid_argument("chat message " + std::to_string(i) + ": empty role");
    if (chat_format_ == ChatFormat::kBitnet2B4T) {
      s += capitalize(m.role);
      s += ": ";
    } else {
      s += "<|start_header_id|>";
      s += m.role;
      s += "<|end_header_id|>\n\n";
    }
    s += trim_ascii(m.content);
    s += "<|eot_id|>";
  }
  if (add_generation_prompt) {
    s += chat_format_ == ChatFormat::kBitnet2B4T
             ? "Assistant: "
             : "<|start_header_id|>assistant<|end_header_id|>\n\n";
  }
  return s;
}

std::vector<std::int32_t> Tokenizer::encode_chat(std::span<const ChatMessage> messages,
                                                 bool add_generation_prompt) const {
  std::vector<std::int32_t> ids =
      encode(apply_chat_template(messages, add_generation_prompt), /*add_special=*/false);
  if (spec_.add_bos && (ids.empty() || ids.front() != bos())) ids.insert(ids.begin(), bos());
  return ids;
}

}  // namespace tritbench::models
