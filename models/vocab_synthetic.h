#pragma once
// Small but valid vocabularies for synthetic models, so a synthetic GGUF can be tokenized, fed to
// `generate` and decoded exactly like a real one. Both are deterministic (no seed: the same size
// always gives the same vocabulary) and learned by a tiny BPE trainer from a fixed sample text
// (English prose, code, a dozen scripts, emoji) embedded in vocab_synthetic.cpp.

#include <cstdint>
#include <string_view>

#include "models/tokenizer_spec.h"

namespace tritbench::models {

// The BitNet-b1.58-2B-4T chat template as its HF tokenizer_config.json has it.
extern const std::string_view kBitnet2B4TChatTemplate;

// LLaMA-3-shaped byte-level BPE ("gpt2", pre "llama-bpe"): ids 0..255 are the byte tokens in
// GPT-2's order, then up to 400 learned merges' tokens, then "<|reserved_special_token_N|>"
// control tokens up to vocab_size. "<|begin_of_text|>" (bos), "<|end_of_text|>" (eos),
// "<|start_header_id|>", "<|end_header_id|>" and "<|eot_id|>" sit at LLaMA-3's ids 128000, 128001,
// 128006, 128007, 128009 when vocab_size >= 128256, else at the last five ids in that order.
// add_bos is set and the chat template is the 2B-4T one. Fewer merges when the size leaves less
// room; vocab_size < 262 (256 bytes + 1 merge + 5 specials) throws std::invalid_argument.
TokenizerSpec synthetic_gpt2_vocab(std::int64_t vocab_size);

// LLaMA-2-shaped SentencePiece BPE ("llama"): <unk>, <s>, </s> at 0, 1, 2; byte tokens
// <0x00>..<0xFF> at 3..258 (kByte); then learned "▁"-pieces (score = -merge order), then the
// sample's single characters, then "<unused_N>" (kUnused) up to vocab_size. bos 1, eos 2, unk 0,
// add_bos. Fewer pieces when the size leaves less room; vocab_size < 260 throws.
TokenizerSpec synthetic_llama_vocab(std::int64_t vocab_size);

}  // namespace tritbench::models
