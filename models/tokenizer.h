#pragma once
// Text <-> token ids for the models tritbench runs, built from a TokenizerSpec (the vocabulary as
// GGUF stores it in tokenizer.ggml.*). Two algorithms, chosen by TokenizerSpec::model:
//
// "gpt2"  byte-level BPE (LLaMA-3, BitNet-b1.58-2B-4T, Falcon3). Input bytes are first split at
//         special tokens (control / user-defined, longest match first), then each text run is cut
//         into pre-tokens by a regex (PCRE2, Unicode properties), then each pre-token's bytes are
//         mapped through GPT-2's byte-to-unicode table and merged by BPE, lowest merge rank first.
//         Every byte has a token, so any byte string encodes, and decode(encode(s)) == s exactly,
//         invalid UTF-8 included (invalid bytes become pre-tokens of their own; see PreTokenizer).
// "llama" SentencePiece BPE (1bitLLM's bitnet_b1_58 models, LLaMA-2 style). Spaces become U+2581
//         "▁", one "▁" is prepended (add_dummy_prefix), and adjacent pieces are merged greedily by
//         the highest score of the merged piece. A character that ends up outside the vocabulary
//         falls back to byte tokens "<0xAB>", or to unk when the vocabulary has no byte tokens.
//         Round trip is exact for any bytes that do not contain a literal "▁" (U+2581 in the input
//         decodes as a space, as in SentencePiece) when the vocabulary has byte tokens; invalid
//         UTF-8 bytes are never pieces, so they go through byte fallback and come back unchanged.
//
// Decoding renders control tokens as their text ("<|eot_id|>") unless skip_special is set; a
// generator stops on is_eog() before printing them. Everything here is const after construction,
// so one Tokenizer may be used from several threads.

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "models/tokenizer_spec.h"

namespace tritbench::models {

// GPT-2's reversible byte -> unicode table: bytes 33..126, 161..172 and 174..255 map to the code
// point of the same value, the other 68 bytes to U+0100, U+0101, ... in byte order. Returned as
// the UTF-8 of that code point ("Ġ" for the space byte 0x20).
std::string gpt2_byte_text(std::uint8_t byte);
// A byte string as its GPT-2 byte-level text (what gpt2 vocabularies and merges store).
std::string gpt2_bytes_to_text(std::string_view bytes);

// Length of the well-formed UTF-8 sequence at s[i] (1..4), or 0 if the bytes there are not one
// (lone continuation byte, truncated sequence, overlong form, surrogate, > U+10FFFF, 0xF5..0xFF).
// Exactly PCRE2's (and Unicode's) definition of valid UTF-8.
int utf8_sequence_length(std::string_view s, std::size_t i);

// The regex pre-tokenizer. The patterns are LLaMA-3's and GPT-2's, compiled once with PCRE2
// (PCRE2_UTF | PCRE2_UCP, JIT-compiled when the library supports it).
//
// Invalid UTF-8: PCRE2 is only ever given valid UTF-8 (and then told not to re-check it with
// PCRE2_NO_UTF_CHECK). The text is cut into maximal valid runs and maximal runs of invalid bytes;
// each invalid run is one piece, each valid run is split by the regex. So the pieces always
// concatenate to the input, whatever the bytes. The price: a regex lookahead cannot see across an
// invalid byte (e.g. "a \xFF" splits as "a", " ", "\xFF", where a valid letter would have taken
// the space). Unicode properties come from the PCRE2 library's tables (Unicode 14 in Debian 12's
// 10.42): characters assigned later are neither \p{L} nor \p{N} to it. Checked once against
// Python's `regex` module on 3000 random strings of Unicode-14 characters: identical pieces.
class PreTokenizer {
 public:
  enum class Kind { kLlama3, kGpt2 };
  explicit PreTokenizer(Kind kind);
  ~PreTokenizer();
  PreTokenizer(PreTokenizer&&) noexcept;
  PreTokenizer& operator=(PreTokenizer&&) noexcept;

  Kind kind() const { return kind_; }
  // The split regex of a kind, as HF tokenizer.json files spell it (for loaders that match it).
  static const char* pattern(Kind kind);
  bool jit() const;  // whether PCRE2 JIT-compiled the pattern (else its interpreter runs it)
  // Appends the pieces of text to out (views into text); concatenated they are exactly text.
  void split(std::string_view text, std::vector<std::string_view>& out) const;
  std::vector<std::string> split(std::string_view text) const;

 private:
  struct Impl;
  Kind kind_;
  std::unique_ptr<Impl> impl_;
};

struct ChatMessage {
  std::string role;  // "system", "user", "assistant"
  std::string content;
};

// Which chat format a tokenizer.chat_template string selects (see Tokenizer::chat_format).
enum class ChatFormat {
  kNone,        // no template in the file
  kUnknown,     // a template this project does not render
  kBitnet2B4T,  // BitNet-b1.58-2B-4T: "<|begin_of_text|>User: hi<|eot_id|>Assistant: "
  kLlama3,      // "<|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>"
};
const char* chat_format_name(ChatFormat f);

class Tokenizer {
 public:
  // Validates the spec (throws std::invalid_argument naming the tokenizer.ggml.* field) and
  // builds the lookup tables. The spec is kept (moved in).
  explicit Tokenizer(TokenizerSpec spec);
  ~Tokenizer();
  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;

  // add_special: bos (and eos) as the spec's add_bos / add_eos say.
  // parse_special: control and user-defined token texts in the input become those tokens;
  // otherwise they are ordinary text. Never throws on any input bytes.
  std::vector<std::int32_t> encode(std::string_view text, bool add_special = true,
                                   bool parse_special = true) const;
  // Ids out of range throw std::out_of_range. skip_special drops control tokens (bos, eot, ...).
  std::string decode(std::span<const std::int32_t> ids, bool skip_special = false) const;
  // One token's bytes as decode renders it in the middle of a sequence (may be a partial UTF-8
  // character; for "llama" a leading "▁" is a space here, which decode drops on the first piece).
  std::string token_text(std::int32_t id) const;

  const TokenizerSpec& spec() const { return spec_; }
  std::int64_t vocab_size() const { return static_cast<std::int64_t>(spec_.tokens.size()); }
  std::int32_t bos() const { return static_cast<std::int32_t>(spec_.bos); }  // -1 if none
  std::int32_t eos() const { return static_cast<std::int32_t>(spec_.eos); }  // -1 if none
  // End of generation: eos, "<|eot_id|>", "<|end_of_text|>", "<|eom_id|>" (those present).
  bool is_eog(std::int32_t id) const;
  bool is_control(std::int32_t id) const;  // control or user-defined: matched whole, never merged
  // Id of an exact token text, -1 if absent.
  std::int32_t find_token(std::string_view text) const;
  const PreTokenizer* pre_tokenizer() const { return pre_.get(); }  // gpt2 only, else nullptr

  // The chat format the spec's chat_template selects: the 2B-4T format (roles capitalized,
  // "ROLE: CONTENT<|eot_id|>"), the LLaMA-3 header format, or none / unknown. The official 2B-4T
  // GGUF carries a placeholder template ("Human: ... BITNETAssistant: ...") that its conversion
  // script hard-codes; the model was not trained on it (generation never stops) and the HF
  // repository's tokenizer_config.json has the 2B-4T format, so that placeholder selects it.
  ChatFormat chat_format() const { return chat_format_; }
  // Renders messages as the chat template would. Throws std::invalid_argument for kNone/kUnknown
  // (naming tokenizer.chat_template) and for an empty role. Content is trimmed of surrounding
  // whitespace (jinja's |trim, ASCII whitespace). The result starts with the bos text when the
  // template emits bos_token: encode it with add_special = false, or use encode_chat.
  std::string apply_chat_template(std::span<const ChatMessage> messages,
                                  bool add_generation_prompt) const;
  // apply_chat_template then encode (specials parsed), with one bos at the start when the
  // template renders it or the spec says add_bos (never two).
  std::vector<std::int32_t> encode_chat(std::span<const ChatMessage> messages,
                                        bool add_generation_prompt) const;

 private:
  friend class TokenStreamer;
  // Keys view spec_.tokens' strings: they stay put when the Tokenizer moves (the vector's buffer
  // moves, its elements do not), and spec_ is never modified after construction.
  using TokenMap = std::unordered_map<std::string_view, std::int32_t>;
  struct Merge {
    std::int32_t rank, result;
  };

  void validate_and_index();
  void build_gpt2();
  void build_llama();
  void encode_text(std::string_view text, bool first_fragment,
                   std::vector<std::int32_t>& out) const;
  void bpe_gpt2(std::string_view piece, std::vector<std::int32_t>& out) const;
  void bpe_llama(std::string_view text, bool dummy_prefix, std::vector<std::int32_t>& out) const;
  // Appends token id's bytes as decode renders it; seen_text tracks the "llama" first piece.
  void append_piece(std::string& out, std::int32_t id, bool skip_special, bool& seen_text) const;

  TokenizerSpec spec_;
  bool gpt2_ = true;
  TokenMap token_to_id_;                  // every token
  std::vector<std::uint8_t> control_;     // per id: control / user-defined
  std::vector<std::string> piece_bytes_;  // per id: decoded bytes (llama: "▁" -> " "); control: ""
  std::array<std::int32_t, 256> byte_token_{};  // gpt2: byte-level token; llama: "<0xAB>" or -1
  bool has_byte_tokens_ = false;                // llama: all 256 "<0xAB>" present
  std::vector<std::uint8_t> is_byte_;           // llama: per id, kByte token
  std::vector<std::uint8_t> mergeable_;  // llama: per id, may be a merge result / final piece
  std::unordered_map<std::uint64_t, Merge> merges_;  // gpt2: (left << 32 | right) -> rank, result
  bool ignore_merges_ = false;  // gpt2 + LLaMA-3: a pre-token that is a token is kept
  std::unique_ptr<PreTokenizer> pre_;
  // Special-token matching: the distinct lengths (longest first) and which bytes can start one.
  std::unordered_map<std::string_view, std::int32_t> special_;
  std::vector<std::size_t> special_lengths_;
  std::array<bool, 256> special_first_{};
  std::vector<std::int32_t> eog_;
  ChatFormat chat_format_ = ChatFormat::kNone;
};

// Streaming decode: feed ids as they are generated, print what push returns. Bytes of an
// incomplete UTF-8 character at the end are held back until the next piece completes it (bytes
// that can never become valid are passed through). Invariant, tested:
//   push(ids[0]) + ... + push(ids[n-1]) + finish() == decode(ids)
class TokenStreamer {
 public:
  explicit TokenStreamer(const Tokenizer& tok, bool skip_special = false)
      : tok_(&tok), skip_special_(skip_special) {}
  std::string push(std::int32_t id);
  std::string finish();  // whatever is held back, and resets the stream

 private:
  const Tokenizer* tok_;
  bool skip_special_;
  bool seen_text_ = false;
  std::string pending_;
};

// Number of bytes at the end of s that form an incomplete (but so far valid) UTF-8 sequence.
std::size_t utf8_incomplete_tail(std::string_view s);

}  // namespace tritbench::models
