#pragma once
// What a tokenizer is built from: the vocabulary as GGUF stores it (tokenizer.ggml.*), independent of
// where it came from (a GGUF file, a HF tokenizer.json, or the synthetic-model generator).

#include <cstdint>
#include <string>
#include <vector>

namespace tritbench::models {

// tokenizer.ggml.token_type values (llama.cpp's convention, which GGUF files carry).
enum class TokenType : std::int32_t {
  kUndefined = 0,
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

struct TokenizerSpec {
  std::string model;  // tokenizer.ggml.model: "gpt2" (byte-level BPE) or "llama" (SentencePiece)
  std::string pre;  // tokenizer.ggml.pre: e.g. "llama-bpe" (LLaMA-3 pre-tokenizer), "default"
  std::vector<std::string> tokens;  // id -> text (gpt2: GPT-2 byte-to-unicode encoded)
  std::vector<float> scores;  // llama: merge priority; may be empty for gpt2
  std::vector<TokenType> types;  // may be empty (all normal)
  std::vector<std::string> merges;  // gpt2: "a b" in rank order
  std::int64_t bos = -1, eos = -1, unk = -1, pad = -1;
  bool add_bos = false, add_eos = false;
  std::string chat_template;  // tokenizer.chat_template, may be empty
};

}  // namespace tritbench::models
