#include "models/vocab_synthetic.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "models/tokenizer.h"

namespace tritbench::models {

const std::string_view kBitnet2B4TChatTemplate =
    "{% for message in messages %}{% if loop.first %}{{ bos_token }}{% endif %}"
    "{% set content = message['role'] | capitalize + ': ' + message['content'] | trim + "
    "'<|eot_id|>' %}{{ content }}{% endfor %}"
    "{% if add_generation_prompt %}{{ 'Assistant: ' }}{% endif %}";

namespace {

// The training text. Written for this file: plain English, some code, numbers, and short
// passages in other scripts, so the learned merges cover the usual cases a tokenizer test hits.
constexpr std::string_view kSample =
    R"SAMPLE(The quick brown fox jumps over the lazy dog. The dog was not amused, and the fox
was not sorry. When the evening came, the two of them sat by the river and watched the water
run past the old mill. There is a simple lesson in that: the river does not care who is right.

In the beginning there was a question, and the question was about numbers. How many weights
does a model need? A ternary weight takes one of three values: minus one, zero or plus one.
Each of them needs 1.58 bits, because log2(3) = 1.5849625. A model with 2,400,000,000 weights
would then need about 475 megabytes, which fits on a phone, in a browser, or on an old laptop.

We measured the kernels on 2 cores and 16 threads; the results were 12.5, 13.75 and 27.0 tokens
per second, with a standard deviation of 0.25. The numbers in this paragraph are examples only.
Call 555-0134 or write to the editors before 2025-04-30 if you have questions about the data.

I'm sure you'll agree that it's what they've said, and we'd like to know what you're doing.
They're here, isn't it? You can't say we don't try. She'd said he'll come, but he didn't.

def tokenize(text: str) -> list[int]:
    """Split text into pieces and return their ids."""
    ids = []
    for piece in pre_tokenize(text):
        if piece in vocab:
            ids.append(vocab[piece])
        else:
            ids.extend(byte_fallback(piece))
    return ids

for i in range(10):
    print(f"step {i}: loss = {loss:.4f}")

#include <cstdint>
#include <vector>

int main(int argc, char** argv) {
  std::vector<std::int32_t> values(argc, 0);
  for (int i = 0; i < argc; ++i) {
    values[i] = static_cast<std::int32_t>(i * 2 + 1);
  }
  return values.empty() ? 1 : 0;
}

const result = items.filter((x) => x.weight !== 0).map((x) => x.value * 2);
SELECT name, count(*) FROM tokens WHERE length > 3 GROUP BY name ORDER BY 2 DESC;
{"model": "bitnet", "vocab_size": 128256, "layers": 30, "rope_theta": 500000.0}

Der schnelle braune Fuchs springt über den faulen Hund. Grüße aus München und Köln!
Le renard brun rapide saute par-dessus le chien paresseux. Où est la bibliothèque, s'il vous plaît ?
El rápido zorro marrón salta sobre el perro perezoso. ¿Dónde está la estación? ¡Qué día!
Быстрая коричневая лиса прыгает через ленивую собаку. Привет, как дела?
Η γρήγορη καφέ αλεπού πηδά πάνω από τον τεμπέλη σκύλο. Καλημέρα!
敏捷的棕色狐狸跳过了懒狗。今天天气很好，我们去公园散步吧。
素早い茶色の狐がのろまな犬を飛び越える。東京は今日も晴れです。
빠른 갈색 여우가 게으른 개를 뛰어넘는다. 안녕하세요, 만나서 반갑습니다.
الثعلب البني السريع يقفز فوق الكلب الكسول. مرحبا بالعالم!
तेज़ भूरी लोमड़ी आलसी कुत्ते के ऊपर कूदती है। नमस्ते दुनिया!
השועל החום המהיר קופץ מעל הכלב העצלן. שלום עולם!
สุนัขจิ้งจอกสีน้ำตาลกระโดดข้ามสุนัขขี้เกียจ
Emoji too: 😀 🎉 👍🏽 👩‍💻 🇩🇪 ❤️ and the family 👨‍👩‍👧‍👦 at the end of the line.

The end of the text is near. Thank you for reading the whole thing, the long and the short of it.
)SAMPLE";

constexpr int kMaxMerges = 400;

// Greedy BPE training over words given as symbol-id sequences with counts: the most frequent
// adjacent pair (ties: smallest (left, right) ids) becomes a new symbol, repeated. join(l, r)
// returns the id of the merged symbol (existing or new); stop when no pair occurs twice.
template <class Join, class Record>
void train_bpe(std::vector<std::vector<std::int32_t>>& words,
               const std::vector<std::int64_t>& counts, int max_merges, Join join, Record record) {
  std::unordered_map<std::uint64_t, std::int64_t> pairs;
  for (int m = 0; m < max_merges; ++m) {
    pairs.clear();
    for (std::size_t w = 0; w < words.size(); ++w) {
      const auto& s = words[w];
      for (std::size_t i = 0; i + 1 < s.size(); ++i) {
        pairs[(static_cast<std::uint64_t>(s[i]) << 32) | static_cast<std::uint32_t>(s[i + 1])] +=
            counts[w];
      }
    }
    std::uint64_t best = 0;
    std::int64_t best_count = 1;
    for (const auto& [key, c] : pairs) {
      if (c > best_count || (c == best_count && c > 1 && key < best)) {
        best = key;
        best_count = c;
      }
    }
    if (best_count < 2) return;
    const auto l = static_cast<std::int32_t>(best >> 32),
               r = static_cast<std::int32_t>(best & 0xFFFFFFFFu);
    const std::int32_t id = join(l, r);
    record(l, r, id);
    for (auto& s : words) {
      std::size_t o = 0;
      for (std::size_t i = 0; i < s.size(); ++o) {
        if (i + 1 < s.size() && s[i] == l && s[i + 1] == r) {
          s[o] = id;
          i += 2;
        } else {
          s[o] = s[i++];
        }
      }
      s.resize(o);
    }
  }
}

void check_size(const char* what, std::int64_t vocab_size, std::int64_t min) {
  if (vocab_size < min || vocab_size > 0x7FFFFFFF) {
    throw std::invalid_argument(std::string(what) + ": vocab_size " + std::to_string(vocab_size) +
                                " out of range [" + std::to_string(min) + ", 2^31-1]");
  }
}

}  // namespace

TokenizerSpec synthetic_gpt2_vocab(std::int64_t vocab_size) {
  constexpr int kNamed = 5;
  check_size("synthetic_gpt2_vocab", vocab_size, 256 + 1 + kNamed);
  TokenizerSpec spec;
  spec.model = "gpt2";
  spec.pre = "llama-bpe";
  spec.tokens.reserve(static_cast<std::size_t>(vocab_size));

  // Byte tokens in GPT-2's order: the self-mapped printable bytes first, then the others.
  std::vector<std::int32_t> byte_id(256);
  for (const bool printable : {true, false}) {
    for (int b = 0; b < 256; ++b) {
      const bool self = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
      if (self != printable) continue;
      byte_id[static_cast<std::size_t>(b)] = static_cast<std::int32_t>(spec.tokens.size());
      spec.tokens.push_back(gpt2_byte_text(static_cast<std::uint8_t>(b)));
    }
  }

  // Words: the sample's LLaMA-3 pre-tokens, counted.
  std::map<std::string_view, std::int64_t> word_count;
  std::vector<std::string_view> pieces;
  PreTokenizer(PreTokenizer::Kind::kLlama3).split(kSample, pieces);
  for (const std::string_view p : pieces) ++word_count[p];
  std::vector<std::vector<std::int32_t>> words;
  std::vector<std::int64_t> counts;
  for (const auto& [w, c] : word_count) {
    std::vector<std::int32_t> s;
    for (const char ch : w) s.push_back(byte_id[static_cast<unsigned char>(ch)]);
    words.push_back(std::move(s));
    counts.push_back(c);
  }

  std::unordered_map<std::string, std::int32_t> index;
  for (std::size_t i = 0; i < spec.tokens.size(); ++i)
    index.emplace(spec.tokens[i], static_cast<std::int32_t>(i));
  const int max_merges =
      static_cast<int>(std::min<std::int64_t>(kMaxMerges, vocab_size - 256 - kNamed));
  train_bpe(
      words, counts, max_merges,
      [&](std::int32_t l, std::int32_t r) {
        std::string t =
            spec.tokens[static_cast<std::size_t>(l)] + spec.tokens[static_cast<std::size_t>(r)];
        const auto [it, fresh] = index.emplace(t, static_cast<std::int32_t>(spec.tokens.size()));
        if (fresh) spec.tokens.push_back(std::move(t));
        return it->second;
      },
      [&](std::int32_t l, std::int32_t r, std::int32_t) {
        spec.merges.push_back(spec.tokens[static_cast<std::size_t>(l)] + " " +
                              spec.tokens[static_cast<std::size_t>(r)]);
      });
  spec.types.assign(spec.tokens.size(), TokenType::kNormal);

  // The named specials, at LLaMA-3's ids when the vocabulary is that large, else last.
  const char* named[kNamed] = {"<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>",
                               "<|end_header_id|>", "<|eot_id|>"};
  std::int64_t named_id[kNamed] = {128000, 128001, 128006, 128007, 128009};
  if (vocab_size < 128256) {
    for (int k = 0; k < kNamed; ++k) named_id[k] = vocab_size - kNamed + k;
  }
  std::int64_t reserved = 0;
  int next_named = 0;
  for (auto id = static_cast<std::int64_t>(spec.tokens.size()); id < vocab_size; ++id) {
    if (next_named < kNamed && id == named_id[next_named]) {
      spec.tokens.emplace_back(named[next_named++]);
    } else {
      spec.tokens.push_back("<|reserved_special_token_" + std::to_string(reserved++) + "|>");
    }
    spec.types.push_back(TokenType::kControl);
  }
  spec.bos = named_id[0];
  spec.eos = named_id[1];
  spec.add_bos = true;
  spec.chat_template = std::string(kBitnet2B4TChatTemplate);
  return spec;
}

TokenizerSpec synthetic_llama_vocab(std::int64_t vocab_size) {
  constexpr std::string_view kSpace = "\xE2\x96\x81";  // "▁"
  check_size("synthetic_llama_vocab", vocab_size, 259 + 1);
  TokenizerSpec spec;
  spec.model = "llama";
  spec.tokens = {"<unk>", "<s>", "</s>"};
  spec.types = {TokenType::kUnknown, TokenType::kControl, TokenType::kControl};
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    spec.tokens.emplace_back(name);
    spec.types.push_back(TokenType::kByte);
  }
  spec.scores.assign(spec.tokens.size(), 0.0f);

  // Words: whitespace-separated, each with the "▁" SentencePiece puts before a word. Symbols are
  // UTF-8 characters, numbered by frequency (then by text) so a small vocabulary keeps the
  // commonest ones.
  std::map<std::string, std::int64_t> word_count;
  std::string word;
  for (std::size_t i = 0; i <= kSample.size(); ++i) {
    const char c = i < kSample.size() ? kSample[i] : ' ';
    if (c == ' ' || c == '\n' || c == '\t') {
      if (!word.empty()) ++word_count[std::string(kSpace) + word];
      word.clear();
    } else {
      word += c;
    }
  }
  std::map<std::string, std::int64_t> char_count;
  for (const auto& [w, c] : word_count) {
    for (std::size_t i = 0; i < w.size();) {
      const auto len = static_cast<std::size_t>(std::max(1, utf8_sequence_length(w, i)));
      char_count[w.substr(i, len)] += c;
      i += len;
    }
  }
  std::vector<std::pair<std::string, std::int64_t>> chars(char_count.begin(), char_count.end());
  // "▁" first whatever its count: with it, the dummy prefix is a piece and decode can drop it.
  std::stable_sort(chars.begin(), chars.end(), [&](const auto& a, const auto& b) {
    const bool as = a.first == kSpace, bs = b.first == kSpace;
    return as != bs ? as : a.second > b.second;
  });
  const std::int64_t room = vocab_size - static_cast<std::int64_t>(spec.tokens.size());
  if (static_cast<std::int64_t>(chars.size()) > room) chars.resize(static_cast<std::size_t>(room));

  std::vector<std::string> sym_text;
  std::unordered_map<std::string, std::int32_t> sym_id;
  for (const auto& ch : chars) {
    sym_id.emplace(ch.first, static_cast<std::int32_t>(sym_text.size()));
    sym_text.push_back(ch.first);
  }
  std::vector<std::vector<std::int32_t>> words;
  std::vector<std::int64_t> counts;
  for (const auto& [w, c] : word_count) {
    std::vector<std::int32_t> s;
    for (std::size_t i = 0; i < w.size();) {
      const auto len = static_cast<std::size_t>(std::max(1, utf8_sequence_length(w, i)));
      const auto it = sym_id.find(w.substr(i, len));
      s.push_back(it == sym_id.end() ? -1 : it->second);  // -1: a character left out (never merged)
      i += len;
    }
    words.push_back(std::move(s));
    counts.push_back(c);
  }
  const int max_merges = static_cast<int>(
      std::min<std::int64_t>(kMaxMerges, room - static_cast<std::int64_t>(chars.size())));
  std::vector<std::string> merged;  // learned pieces, in merge order
  train_bpe(
      words, counts, max_merges,
      [&](std::int32_t l, std::int32_t r) {
        std::string t =
            sym_text[static_cast<std::size_t>(l)] + sym_text[static_cast<std::size_t>(r)];
        const auto [it, fresh] = sym_id.emplace(t, static_cast<std::int32_t>(sym_text.size()));
        if (fresh) {
          sym_text.push_back(t);
          merged.push_back(std::move(t));
        }
        return it->second;
      },
      [](std::int32_t, std::int32_t, std::int32_t) {});
  // (-1 symbols exist only when not every character fits, and then max_merges <= 0.)

  // LLaMA-2's layout: merged pieces (score = -order), then single characters (lowest scores).
  float score = 0.0f;
  for (const std::string& p : merged) {
    spec.tokens.push_back(p);
    spec.types.push_back(TokenType::kNormal);
    spec.scores.push_back(score);
    score -= 1.0f;
  }
  for (const auto& ch : chars) {
    spec.tokens.push_back(ch.first);
    spec.types.push_back(TokenType::kNormal);
    spec.scores.push_back(score);
    score -= 1.0f;
  }
  for (std::int64_t k = 0; static_cast<std::int64_t>(spec.tokens.size()) < vocab_size; ++k) {
    spec.tokens.push_back("<unused_" + std::to_string(k) + ">");
    spec.types.push_back(TokenType::kUnused);
    spec.scores.push_back(0.0f);
  }
  spec.unk = 0;
  spec.bos = 1;
  spec.eos = 2;
  spec.add_bos = true;
  return spec;
}

}  // namespace tritbench::models
