// The tokenizer (models/tokenizer.h): hand-written vocabularies with ids computed by hand, the
// pre-tokenizer's splits, exact round trips on a mixed-script corpus and on random bytes, streaming
// decode, chat templates, every bad-input error, and the synthetic vocabularies.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "models/tokenizer.h"
#include "models/vocab_synthetic.h"
#include "reference/rng.h"

namespace tritbench::models {
namespace {

using Ids = std::vector<std::int32_t>;
using Strings = std::vector<std::string>;

// --- Helpers ----------------------------------------------------------------------------------

std::string utf8(std::uint32_t cp) {
  std::string s;
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else if (cp < 0x800) {
    s += static_cast<char>(0xC0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    s += static_cast<char>(0xE0 | (cp >> 12));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    s += static_cast<char>(0xF0 | (cp >> 18));
    s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return s;
}

// GPT-2's byte alphabet, written again here from its definition (independent of the library):
// printable bytes are themselves, the others U+0100 + (their rank among the others).
std::string byte_text(int b) {
  const auto self = [](int x) {
    return (x >= 33 && x <= 126) || (x >= 161 && x <= 172) || x >= 174;
  };
  if (self(b)) return utf8(static_cast<std::uint32_t>(b));
  std::uint32_t rank = 0;
  for (int x = 0; x < b; ++x) rank += self(x) ? 0 : 1;
  return utf8(256 + rank);
}

template <class F>
void expect_invalid(F&& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "no exception; expected one mentioning: " << needle;
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos)
        << "message: " << e.what() << "\nexpected to contain: " << needle;
  }
}

// The text mix every round-trip test uses.
const Strings& corpus() {
  static const Strings c = {
      "",
      "Hello, world!",
      "The quick brown fox jumps over the lazy dog.",
      "  leading spaces and trailing   ",
      "many          spaces\t\ttabs\t and\nnew\n\nlines\r\nCRLF\r\n\r\n end",
      "\n\n\n",
      " ",
      "\t",
      "1234567 89 0 3.14159 1,000,000 2025-04-30 x1y22z333w4444",
      "I'm sure you'll agree it's what they've said; we'd know. I'M SHOUTING, WE'LL SEE, DON'T.",
      "int main(int argc, char** argv) {\n  return argc > 1 ? 0 : 1;\n}\n",
      "def f(x):\n    return [i**2 for i in range(x) if i % 2 == 0]  # comment\n",
      "Grüße aus Köln — naïve café, œuvre, ß, Ångström",
      "Быстрая коричневая лиса прыгает через ленивую собаку.",
      "敏捷的棕色狐狸跳过了懒狗。今天天气很好！",
      "素早い茶色の狐がのろまな犬を飛び越える。",
      "빠른 갈색 여우가 게으른 개를 뛰어넘는다.",
      "الثعلب البني السريع يقفز فوق الكلب الكسول.",
      "तेज़ भूरी लोमड़ी आलसी कुत्ते के ऊपर कूदती है। नमस्ते",
      "שלום עולם",
      "สวัสดีครับ",
      "emoji 😀🎉 thumbs 👍🏽👍🏿 coder 👩‍💻 family 👨‍👩‍👧‍👦 flag 🇩🇪🇯🇵 heart ❤️ "
      "keycap "
      "1️⃣",
      "mixed: abc敏捷123😀def\u00a0nbsp\u2003emsp\u3000ideographic",
      "<|eot_id|> looks special <|begin_of_text|>",
      std::string("nul\0byte", 8),
      "\x7f\x01\x02 control \x1b[31mred\x1b[0m",
      // Invalid UTF-8: lone bytes, truncated sequences, overlongs, surrogates, > U+10FFFF.
      "\xff",
      "lone \xff and \xfe bytes",
      "\x80\x80\x80 continuation bytes",
      "truncated \xe2\x82 euro and \xf0\x9f\x98 emoji",
      "\xe2\x82",
      "overlong \xc0\xaf slash \xe0\x80\xaf and \xf0\x80\x80\xaf",
      "surrogates \xed\xa0\x80\xed\xb0\x80 pair",
      "above max \xf4\x90\x80\x80 and \xf5\x80\x80\x80",
      "a \xff b\xff"
      "c \xff\xfe\xfd\n\xc3",
      "ends with lead \xe2",
  };
  return c;
}

// Random byte strings: pure noise, and a mix of valid code points (all planes) with junk bytes.
Strings random_strings(std::uint64_t seed, int n) {
  Rng rng(seed);
  Strings out;
  for (int i = 0; i < n; ++i) {
    std::string s;
    const auto len = rng.below(120);
    if (i % 2 == 0) {
      for (std::uint64_t k = 0; k < len; ++k) s += static_cast<char>(rng.below(256));
    } else {
      for (std::uint64_t k = 0; k < len; ++k) {
        const auto kind = rng.below(10);
        if (kind < 4) {
          s += " \t\n\r"[rng.below(4)];
        } else if (kind < 6) {
          s += static_cast<char>('a' + rng.below(26));
        } else if (kind < 7) {
          s += static_cast<char>('0' + rng.below(10));
        } else if (kind < 9) {
          std::uint32_t cp = static_cast<std::uint32_t>(rng.below(0x110000));
          if (cp >= 0xD800 && cp < 0xE000) cp = 0xFFFD;  // surrogates are not characters
          s += utf8(cp);
        } else {
          s += static_cast<char>(0x80 + rng.below(128));  // junk
        }
      }
    }
    out.push_back(std::move(s));
  }
  return out;
}

// --- GPT-2 byte alphabet and UTF-8 helpers ------------------------------------------------------

TEST(Tokenizer, Gpt2ByteAlphabetMatchesItsDefinition) {
  EXPECT_EQ(gpt2_byte_text(0x20), "\xC4\xA0");  // U+0120 "Ġ"
  EXPECT_EQ(gpt2_byte_text(0x0A), "\xC4\x8A");  // U+010A "Ċ"
  EXPECT_EQ(gpt2_byte_text(0x00), "\xC4\x80");  // U+0100 "Ā"
  EXPECT_EQ(gpt2_byte_text(0x7F), "\xC4\xA1");  // U+0121: first of the 127..160 block
  EXPECT_EQ(gpt2_byte_text(0xAD), "\xC5\x83");  // U+0143: the 68th and last remapped byte
  EXPECT_EQ(gpt2_byte_text('A'), "A");
  EXPECT_EQ(gpt2_byte_text(0xFF), "\xC3\xBF");  // U+00FF maps to itself
  for (int b = 0; b < 256; ++b)
    EXPECT_EQ(gpt2_byte_text(static_cast<std::uint8_t>(b)), byte_text(b)) << b;
  EXPECT_EQ(gpt2_bytes_to_text(" hi\n"), "\xC4\xA0hi\xC4\x8A");
}

TEST(Tokenizer, Utf8SequenceLength) {
  const auto len = [](std::string_view s) { return utf8_sequence_length(s, 0); };
  EXPECT_EQ(len("a"), 1);
  EXPECT_EQ(len(std::string_view("\0", 1)), 1);
  EXPECT_EQ(len("\xC3\xA9"), 2);
  EXPECT_EQ(len("\xE2\x82\xAC"), 3);
  EXPECT_EQ(len("\xF0\x9F\x98\x80"), 4);
  EXPECT_EQ(len("\xF4\x8F\xBF\xBF"), 4);  // U+10FFFF
  EXPECT_EQ(len("\x80"), 0);              // lone continuation
  EXPECT_EQ(len("\xC3"), 0);              // truncated
  EXPECT_EQ(len("\xE2\x82"), 0);
  EXPECT_EQ(len("\xC0\xAF"), 0);  // overlong '/'
  EXPECT_EQ(len("\xC1\xBF"), 0);
  EXPECT_EQ(len("\xE0\x80\xAF"), 0);
  EXPECT_EQ(len("\xF0\x80\x80\xAF"), 0);
  EXPECT_EQ(len("\xED\xA0\x80"), 0);      // U+D800
  EXPECT_EQ(len("\xED\x9F\xBF"), 3);      // U+D7FF
  EXPECT_EQ(len("\xF4\x90\x80\x80"), 0);  // U+110000
  EXPECT_EQ(len("\xF5\x80\x80\x80"), 0);
  EXPECT_EQ(len("\xFF"), 0);
  EXPECT_EQ(len("\xC3\x28"), 0);  // bad continuation
}

TEST(Tokenizer, Utf8IncompleteTail) {
  EXPECT_EQ(utf8_incomplete_tail(""), 0u);
  EXPECT_EQ(utf8_incomplete_tail("abc"), 0u);
  EXPECT_EQ(utf8_incomplete_tail("a\xE2"), 1u);
  EXPECT_EQ(utf8_incomplete_tail("a\xE2\x82"), 2u);
  EXPECT_EQ(utf8_incomplete_tail("a\xE2\x82\xAC"), 0u);
  EXPECT_EQ(utf8_incomplete_tail("\xF0\x9F\x98"), 3u);
  EXPECT_EQ(utf8_incomplete_tail("\xF0\x90"), 2u);
  EXPECT_EQ(utf8_incomplete_tail("\xE0"), 1u);
  EXPECT_EQ(utf8_incomplete_tail("\xE0\x80"), 0u);  // can only become an overlong form
  EXPECT_EQ(utf8_incomplete_tail("\xED\xA0"), 0u);  // can only become a surrogate
  EXPECT_EQ(utf8_incomplete_tail("\xF4\x90"), 0u);  // can only exceed U+10FFFF
  EXPECT_EQ(utf8_incomplete_tail("\xC0"), 0u);
  EXPECT_EQ(utf8_incomplete_tail("\xFF"), 0u);
  EXPECT_EQ(utf8_incomplete_tail("\x80\x80\x80"), 0u);
  EXPECT_EQ(utf8_incomplete_tail("\xC3\xA9"), 0u);
}

// --- Pre-tokenizer ----------------------------------------------------------------------------

TEST(PreTokenizer, Llama3Splits) {
  const PreTokenizer p(PreTokenizer::Kind::kLlama3);
  EXPECT_EQ(p.split("1234567"), (Strings{"123", "456", "7"}));
  EXPECT_EQ(p.split("x12345 99"), (Strings{"x", "123", "45", " ", "99"}));
  EXPECT_EQ(p.split("Hello world"), (Strings{"Hello", " world"}));
  EXPECT_EQ(p.split("I'm can't WE'LL"), (Strings{"I", "'m", " can", "'t", " WE", "'LL"}));
  EXPECT_EQ(p.split("a  b"), (Strings{"a", " ", " b"}));
  EXPECT_EQ(p.split("x\n\ny"), (Strings{"x", "\n\n", "y"}));
  EXPECT_EQ(p.split("x \r\n  y"), (Strings{"x", " \r\n", " ", " y"}));
  EXPECT_EQ(p.split("a\tb"), (Strings{"a", "\tb"}));
  EXPECT_EQ(p.split("end.\nnext"), (Strings{"end", ".\n", "next"}));
  EXPECT_EQ(p.split("hello!!! world..."), (Strings{"hello", "!!!", " world", "..."}));
  EXPECT_EQ(p.split("trailing   "), (Strings{"trailing", "   "}));
  EXPECT_EQ(p.split("敏捷的狐狸"), (Strings{"敏捷的狐狸"}));
  EXPECT_EQ(p.split("مرحبا بالعالم"), (Strings{"مرحبا", " بالعالم"}));
  // Combining marks are not \p{L}: the virama joins the next letter, the final vowel sign stands
  // alone.
  EXPECT_EQ(p.split("नमस्ते"), (Strings{"नमस", "्त", "े"}));
  EXPECT_EQ(p.split("hi 👍🏽"), (Strings{"hi", " 👍🏽"}));
  EXPECT_EQ(p.split("f(x);"), (Strings{"f", "(x", ");"}));
  // Invalid bytes are pieces of their own; the valid runs around them are split by the regex.
  EXPECT_EQ(p.split("a\xFF"
                    "b"),
            (Strings{"a", "\xFF", "b"}));
  EXPECT_EQ(p.split("ab\xE2\x82"), (Strings{"ab", "\xE2\x82"}));
  EXPECT_EQ(p.split("\xC0\xAF!"), (Strings{"\xC0\xAF", "!"}));
  EXPECT_EQ(p.split(""), Strings{});
}

TEST(PreTokenizer, Gpt2Splits) {
  const PreTokenizer p(PreTokenizer::Kind::kGpt2);
  EXPECT_EQ(p.split("1234567"), (Strings{"1234567"}));
  EXPECT_EQ(p.split("I'M it's"), (Strings{"I", "'", "M", " it", "'s"}));
  // Unlike LLaMA-3's \s*[\r\n]+, a newline run before a letter gives its last newline away.
  EXPECT_EQ(p.split("a  b\n\nc"), (Strings{"a", " ", " b", "\n", "\n", "c"}));
  EXPECT_EQ(p.split("x 42!"), (Strings{"x", " 42", "!"}));
}

TEST(PreTokenizer, PiecesConcatenateToAnyInput) {
  const std::uint64_t seed = 7;
  for (const auto kind : {PreTokenizer::Kind::kLlama3, PreTokenizer::Kind::kGpt2}) {
    const PreTokenizer p(kind);
    Strings all = corpus();
    for (auto& s : random_strings(seed, 300)) all.push_back(std::move(s));
    for (const std::string& s : all) {
      std::string joined;
      for (const std::string& piece : p.split(s)) {
        ASSERT_FALSE(piece.empty()) << "seed " << seed;
        joined += piece;
      }
      ASSERT_EQ(joined, s) << "seed " << seed;
    }
  }
}

TEST(PreTokenizer, JitIsUsedOnX86) {
  // Debian's libpcre2 is built with JIT; without it the interpreter gives the same pieces, slower.
#if defined(__x86_64__)
  EXPECT_TRUE(PreTokenizer(PreTokenizer::Kind::kLlama3).jit());
#else
  GTEST_SKIP() << "JIT availability is platform-specific";
#endif
}

TEST(PreTokenizer, LongRunsDoNotFail) {
  // Long runs of one class exercise PCRE2's backtracking (e.g. \s*[\r\n]+ over spaces) and JIT
  // stack.
  const PreTokenizer p(PreTokenizer::Kind::kLlama3);
  for (const std::string& s :
       {std::string(300000, ' ') + "x", std::string(300000, 'a'), std::string(100000, '7'),
        std::string(200000, '\n') + "  ", std::string(100000, '!') + std::string(100000, '\r')}) {
    std::string joined;
    for (const std::string& piece : p.split(s)) joined += piece;
    EXPECT_EQ(joined, s);
  }
}

// --- A hand-written gpt2 vocabulary -----------------------------------------------------------

// Byte tokens at id == byte value, then:
//   256 "bc"  257 "ab"  258 "abc"  259 "Ġa"  260 "aa"
//   261 "<|eot_id|>"  262 "<s>"  263 "<s>>"  264 "<|begin_of_text|>"  265 "<|end_of_text|>"
//   (control)
// merges by rank: 0 "b c", 1 "a b", 2 "ab c", 3 "Ġ a", 4 "a a".
TokenizerSpec hand_gpt2(const std::string& pre) {
  TokenizerSpec s;
  s.model = "gpt2";
  s.pre = pre;
  for (int b = 0; b < 256; ++b) s.tokens.push_back(byte_text(b));
  const std::string G = byte_text(' ');
  for (const std::string& t : Strings{"bc", "ab", "abc", G + "a", "aa"}) s.tokens.push_back(t);
  for (const char* t : {"<|eot_id|>", "<s>", "<s>>", "<|begin_of_text|>", "<|end_of_text|>"})
    s.tokens.emplace_back(t);
  s.types.assign(261, TokenType::kNormal);
  s.types.resize(266, TokenType::kControl);
  s.merges = {"b c", "a b", "ab c", G + " a", "a a"};
  s.bos = 264;
  s.eos = 265;
  s.add_bos = true;
  return s;
}

TEST(Tokenizer, HandGpt2MergesByRankNotLeftToRight) {
  const Tokenizer tok(hand_gpt2("default"));
  // "abc": (b,c) has rank 0 and wins over (a,b) rank 1, leaving "a"+"bc", which no merge joins.
  // Left to right would have made "ab", then "ab c" -> "abc".
  EXPECT_EQ(tok.encode("abc", false), (Ids{'a', 256}));
  EXPECT_EQ(tok.encode("abab", false), (Ids{257, 257}));
  // " abc" is one GPT-2 pre-token "Ġabc": bc (rank 0), then Ġa (rank 3).
  EXPECT_EQ(tok.encode(" abc", false), (Ids{259, 256}));
  // Equal ranks merge leftmost first.
  EXPECT_EQ(tok.encode("aaa", false), (Ids{260, 'a'}));
  EXPECT_EQ(tok.encode("aaaa", false), (Ids{260, 260}));
  // No merge applies: the bytes' tokens.
  EXPECT_EQ(tok.encode("xyz", false), (Ids{'x', 'y', 'z'}));
  EXPECT_EQ(tok.encode(std::string("\xFF\x00", 2), false), (Ids{0xFF, 0x00}));
  // add_special: bos first.
  EXPECT_EQ(tok.encode("abc"), (Ids{264, 'a', 256}));
  EXPECT_EQ(tok.encode(""), (Ids{264}));
  EXPECT_EQ(tok.encode("", false), Ids{});
}

TEST(Tokenizer, HandGpt2SpecialTokens) {
  const Tokenizer tok(hand_gpt2("default"));
  EXPECT_EQ(tok.encode("a<s>>b", false), (Ids{'a', 263, 'b'}));  // longest match
  EXPECT_EQ(tok.encode("a<s>b", false), (Ids{'a', 262, 'b'}));
  EXPECT_EQ(tok.encode("<|eot_id|><|eot_id|>", false), (Ids{261, 261}));
  EXPECT_EQ(tok.encode("ab<|eot_id|>c", false), (Ids{257, 261, 'c'}));
  EXPECT_EQ(tok.encode("<|eot_id", false), (Ids{'<', '|', 'e', 'o', 't', '_', 'i', 'd'}));
  // parse_special = false: ordinary text, split by the regex ("<", "s", ">").
  EXPECT_EQ(tok.encode("<s>", false, false), (Ids{'<', 's', '>'}));
  EXPECT_EQ(tok.decode(Ids{264, 'a', 256, 261}), "<|begin_of_text|>abc<|eot_id|>");
  EXPECT_EQ(tok.decode(Ids{264, 'a', 256, 261}, /*skip_special=*/true), "abc");
  EXPECT_EQ(tok.decode(Ids{259, 32, 10}), " a \n");
  EXPECT_EQ(tok.token_text(259), " a");
  EXPECT_EQ(tok.token_text(261), "<|eot_id|>");
  EXPECT_TRUE(tok.is_eog(265));
  EXPECT_TRUE(tok.is_eog(261));
  EXPECT_FALSE(tok.is_eog(264));
  EXPECT_TRUE(tok.is_control(262));
  EXPECT_FALSE(tok.is_control(256));
  EXPECT_EQ(tok.bos(), 264);
  EXPECT_EQ(tok.eos(), 265);
  EXPECT_EQ(tok.vocab_size(), 266);
  EXPECT_EQ(tok.find_token("abc"), 258);
  EXPECT_EQ(tok.find_token("nope"), -1);
  EXPECT_THROW(tok.decode(Ids{266}), std::out_of_range);
  EXPECT_THROW(tok.decode(Ids{-1}), std::out_of_range);
  EXPECT_THROW(tok.token_text(300), std::out_of_range);
}

TEST(Tokenizer, HandGpt2Llama3PreTokenizerKeepsWholeTokens) {
  // LLaMA-3's pre-tokenizer comes with ignore_merges: a pre-token that is a token is not merged.
  const Tokenizer tok(hand_gpt2("llama-bpe"));
  EXPECT_EQ(tok.encode("abc", false), (Ids{258}));
  EXPECT_EQ(tok.encode(" abc", false), (Ids{259, 256}));  // "Ġabc" is not a token: BPE as before
  EXPECT_EQ(tok.encode("abc abc", false), (Ids{258, 259, 256}));
  // Digits split in threes before BPE; the regex splits "x1234" into "x", "123", "4".
  EXPECT_EQ(tok.encode("x1234", false), (Ids{'x', '1', '2', '3', '4'}));
  // An empty pre (the official 2B-4T GGUF has no tokenizer.ggml.pre) is LLaMA-3's.
  const Tokenizer empty_pre(hand_gpt2(""));
  EXPECT_EQ(empty_pre.encode("abc", false), (Ids{258}));
  EXPECT_EQ(empty_pre.pre_tokenizer()->kind(), PreTokenizer::Kind::kLlama3);
}

TEST(Tokenizer, HandGpt2RoundTripsAnyBytes) {
  const std::uint64_t seed = 11;
  for (const char* pre : {"default", "llama-bpe"}) {
    const Tokenizer tok(hand_gpt2(pre));
    Strings all = corpus();
    for (auto& s : random_strings(seed, 300)) all.push_back(std::move(s));
    for (const std::string& s : all) {
      ASSERT_EQ(tok.decode(tok.encode(s, false)), s) << "pre " << pre << " seed " << seed;
      ASSERT_EQ(tok.decode(tok.encode(s, false, false)), s) << "pre " << pre << " seed " << seed;
    }
  }
}

// --- A hand-written SentencePiece vocabulary --------------------------------------------------

// <unk> <s> </s> at 0, 1, 2; <0x00>..<0xFF> at 3..258; then pieces with scores:
//   259 "▁" -10   260 "a" -11   261 "b" -12   262 "c" -13   263 "ab" -3   264 "bc" -2
//   265 "▁a" -5   266 "▁ab" -1   267 "aa" -4
const std::string kU = "\xE2\x96\x81";  // "▁"
TokenizerSpec hand_spm(bool with_bytes = true) {
  TokenizerSpec s;
  s.model = "llama";
  s.tokens = {"<unk>", "<s>", "</s>"};
  s.types = {TokenType::kUnknown, TokenType::kControl, TokenType::kControl};
  s.scores = {0, 0, 0};
  if (with_bytes) {
    for (int b = 0; b < 256; ++b) {
      char name[8];
      std::snprintf(name, sizeof name, "<0x%02X>", b);
      s.tokens.emplace_back(name);
      s.types.push_back(TokenType::kByte);
      s.scores.push_back(0);
    }
  }
  const std::vector<std::pair<std::string, float>> pieces = {
      {kU, -10},  {"a", -11},     {"b", -12},      {"c", -13}, {"ab", -3},
      {"bc", -2}, {kU + "a", -5}, {kU + "ab", -1}, {"aa", -4}};
  for (const auto& [t, sc] : pieces) {
    s.tokens.push_back(t);
    s.types.push_back(TokenType::kNormal);
    s.scores.push_back(sc);
  }
  s.unk = 0;
  s.bos = 1;
  s.eos = 2;
  s.add_bos = true;
  return s;
}

TEST(Tokenizer, HandSpmMergesByScore) {
  const Tokenizer tok(hand_spm());
  // "▁abc": bc (-2) beats ab (-3), then ▁a (-5); "▁ab" (-1) is never reached.
  EXPECT_EQ(tok.encode("abc", false), (Ids{265, 264}));
  // "▁ab": ab (-3) beats ▁a (-5), then ▁ + ab = "▁ab" (-1).
  EXPECT_EQ(tok.encode("ab", false), (Ids{266}));
  EXPECT_EQ(tok.encode("a b", false), (Ids{265, 259, 261}));
  // Equal scores merge leftmost first: "▁aaa" -> ▁ [aa] a, which nothing merges further.
  EXPECT_EQ(tok.encode("aaa", false), (Ids{259, 267, 260}));
  // Byte fallback: "é" is not a piece -> its UTF-8 bytes C3 A9.
  EXPECT_EQ(tok.encode("\xC3\xA9", false), (Ids{259, 3 + 0xC3, 3 + 0xA9}));
  EXPECT_EQ(tok.encode("abc"), (Ids{1, 265, 264}));
  EXPECT_EQ(tok.encode("", false), Ids{});
  // Special tokens; the dummy prefix goes on the first text fragment only.
  EXPECT_EQ(tok.encode("<s>ab", false), (Ids{1, 266}));
  EXPECT_EQ(tok.encode("ab</s>ab", false), (Ids{266, 2, 263}));
  EXPECT_EQ(tok.decode(Ids{265, 264}), "abc");
  EXPECT_EQ(tok.decode(Ids{1, 266, 2, 263}), "<s>ab</s>ab");
  EXPECT_EQ(tok.decode(Ids{1, 266, 2, 263}, true), "abab");
  EXPECT_EQ(tok.decode(Ids{259, 198, 172}), "\xC3\xA9");
  EXPECT_EQ(tok.token_text(266), " ab");
  EXPECT_EQ(tok.token_text(3 + 'A'), "A");
  EXPECT_TRUE(tok.is_eog(2));
  EXPECT_FALSE(tok.is_eog(1));
  EXPECT_EQ(tok.pre_tokenizer(), nullptr);
}

TEST(Tokenizer, HandSpmWithoutByteTokensUsesUnk) {
  TokenizerSpec s;
  s.model = "llama";
  s.tokens = {"<unk>", "<s>", "</s>", kU, "a"};
  s.types = {TokenType::kUnknown, TokenType::kControl, TokenType::kControl, TokenType::kNormal,
             TokenType::kNormal};
  s.scores = {0, 0, 0, -1, -2};
  s.unk = 0;
  const Tokenizer tok(s);
  EXPECT_EQ(tok.encode("ax", false), (Ids{3, 4, 0}));
  for (const std::string& text : random_strings(29, 100)) {
    for (const std::int32_t id : tok.encode(text)) ASSERT_TRUE(id >= 0 && id < 5) << "seed 29";
  }
}

TEST(Tokenizer, HandSpmRoundTripsBytesWithoutLiteralU2581) {
  const std::uint64_t seed = 13;
  const Tokenizer tok(hand_spm());
  Strings all = corpus();
  for (auto& s : random_strings(seed, 300)) all.push_back(std::move(s));
  for (const std::string& s : all) {
    if (s.find(kU) != std::string::npos) continue;
    ASSERT_EQ(tok.decode(tok.encode(s, false)), s) << "seed " << seed;
    ASSERT_EQ(tok.decode(tok.encode(s, true, false), true), s) << "seed " << seed;  // bos skipped
  }
  // A literal "▁" in the input is a space to SentencePiece (documented, not round-tripped).
  EXPECT_EQ(tok.decode(tok.encode("a" + kU + "b", false)), "a b");
}

// --- Streaming --------------------------------------------------------------------------------

void check_streaming(const Tokenizer& tok, const Strings& texts, bool skip_special) {
  TokenStreamer st(tok, skip_special);
  for (const std::string& s : texts) {
    const Ids ids = tok.encode(s);
    std::string streamed;
    bool valid_input = true;
    for (std::size_t i = 0; i < s.size();
         i += static_cast<std::size_t>(std::max(1, utf8_sequence_length(s, i)))) {
      valid_input = valid_input && utf8_sequence_length(s, i) > 0;
    }
    for (const std::int32_t id : ids) {
      const std::string part = st.push(id);
      if (valid_input) {
        // Every chunk of a valid text is itself valid UTF-8: nothing is cut mid-character.
        for (std::size_t i = 0; i < part.size();) {
          const int l = utf8_sequence_length(part, i);
          ASSERT_GT(l, 0) << "chunk cut mid-character in " << s;
          i += static_cast<std::size_t>(l);
        }
      }
      streamed += part;
    }
    streamed += st.finish();
    ASSERT_EQ(streamed, tok.decode(ids, skip_special));
  }
}

TEST(Tokenizer, StreamingConcatenatesToDecode) {
  const Tokenizer gpt2(synthetic_gpt2_vocab(2000));
  const Tokenizer spm(synthetic_llama_vocab(2000));
  Strings all = corpus();
  for (auto& s : random_strings(17, 100)) all.push_back(std::move(s));
  for (const bool skip : {false, true}) {
    check_streaming(gpt2, all, skip);
    check_streaming(spm, all, skip);
  }
  // Byte-level BPE has no first-piece rule: the pieces alone concatenate to decode.
  for (const std::string& s : all) {
    const Ids ids = gpt2.encode(s);
    std::string pieces;
    for (const std::int32_t id : ids) pieces += gpt2.token_text(id);
    ASSERT_EQ(pieces, gpt2.decode(ids));
  }
}

// --- Chat templates ---------------------------------------------------------------------------

TEST(Tokenizer, ChatTemplate2B4T) {
  const Tokenizer tok(synthetic_gpt2_vocab(128256));
  EXPECT_EQ(tok.chat_format(), ChatFormat::kBitnet2B4T);
  const std::vector<ChatMessage> msgs = {{"system", "You are terse."},
                                         {"user", "  Hi there \n"},
                                         {"assistant", "Hello."},
                                         {"USER", "Bye"}};
  EXPECT_EQ(tok.apply_chat_template(msgs, true),
            "<|begin_of_text|>System: You are terse.<|eot_id|>User: Hi there<|eot_id|>"
            "Assistant: Hello.<|eot_id|>User: Bye<|eot_id|>Assistant: ");
  EXPECT_EQ(tok.apply_chat_template(std::span(msgs).first(1), false),
            "<|begin_of_text|>System: You are terse.<|eot_id|>");
  const Ids ids = tok.encode_chat(msgs, true);
  EXPECT_EQ(ids.front(), 128000);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 128000), 1);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 128009), 4);
  EXPECT_EQ(tok.decode(ids), tok.apply_chat_template(msgs, true));
  expect_invalid(
      [&] {
        tok.apply_chat_template(std::vector<ChatMessage>{{"", "x"}}, true);
      },
      "chat message 0: empty role");
}

TEST(Tokenizer, ChatTemplateSelection) {
  TokenizerSpec s = synthetic_gpt2_vocab(128256);
  const std::vector<ChatMessage> msgs = {{"user", "Hi"}};

  s.chat_template =
      "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = "
      "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | "
      "trim + "
      "'<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}"
      "{{ content }}{% endfor %}{% if add_generation_prompt %}"
      "{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}";
  const Tokenizer llama3(s);
  EXPECT_EQ(llama3.chat_format(), ChatFormat::kLlama3);
  EXPECT_EQ(llama3.apply_chat_template(msgs, true),
            "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
  const Ids ids = llama3.encode_chat(msgs, true);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 128000), 1);
  EXPECT_EQ(ids[1], 128006);

  // The placeholder in the official 2B-4T GGUF selects the format the model was trained on.
  s.chat_template =
      "{% for message in messages %}{% if loop.first %}{{ bos_token }}{% endif %}{% if "
      "message['role'] == 'user' %}{{ 'Human: ' + message['content'] + '\\n\\nBITNETAssistant: ' + "
      "eos_token }}{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token }}"
      "{% endif %}{% endfor %}";
  const Tokenizer placeholder(s);
  EXPECT_EQ(placeholder.chat_format(), ChatFormat::kBitnet2B4T);
  EXPECT_EQ(placeholder.apply_chat_template(msgs, true),
            "<|begin_of_text|>User: Hi<|eot_id|>Assistant: ");

  s.chat_template = "{% for m in messages %}<|im_start|>{{ m['role'] }}{% endfor %}";
  const Tokenizer unknown(s);
  EXPECT_EQ(unknown.chat_format(), ChatFormat::kUnknown);
  expect_invalid([&] { unknown.apply_chat_template(msgs, true); },
                 "tokenizer.chat_template: unsupported");

  s.chat_template.clear();
  const Tokenizer none(s);
  EXPECT_EQ(none.chat_format(), ChatFormat::kNone);
  expect_invalid([&] { none.apply_chat_template(msgs, true); }, "tokenizer.chat_template: missing");
}

// --- Bad input --------------------------------------------------------------------------------

TEST(Tokenizer, BadSpecsNameTheField) {
  const auto bad = [](auto mutate, const std::string& needle, bool spm = false) {
    TokenizerSpec s = spm ? hand_spm() : hand_gpt2("llama-bpe");
    mutate(s);
    expect_invalid([&] { Tokenizer t(std::move(s)); }, needle);
  };
  bad([](TokenizerSpec& s) { s.merges.clear(); },
      "tokenizer.ggml.merges: empty (a gpt2 tokenizer needs merges)");
  bad([](TokenizerSpec& s) { s.model = "wordpiece"; },
      "tokenizer.ggml.model: unknown tokenizer model \"wordpiece\"");
  bad(
      [](TokenizerSpec& s) {
        s.tokens.clear();
        s.types.clear();
      },
      "tokenizer.ggml.tokens: empty");
  bad([](TokenizerSpec& s) { s.scores.assign(10, 0.0f); },
      "tokenizer.ggml.scores: 10 entries, expected 266");
  bad([](TokenizerSpec& s) { s.types.pop_back(); },
      "tokenizer.ggml.token_type: 265 entries, expected 266");
  bad([](TokenizerSpec& s) { s.types[3] = static_cast<TokenType>(9); },
      "tokenizer.ggml.token_type[3]: 9");
  bad([](TokenizerSpec& s) { s.bos = 266; },
      "tokenizer.ggml.bos_token_id: 266 out of range [0, 266)");
  bad([](TokenizerSpec& s) { s.eos = -2; }, "tokenizer.ggml.eos_token_id: -2 out of range");
  bad([](TokenizerSpec& s) { s.unk = 1000; }, "tokenizer.ggml.unknown_token_id: 1000 out of range");
  bad([](TokenizerSpec& s) { s.pad = 500; }, "tokenizer.ggml.padding_token_id: 500 out of range");
  bad([](TokenizerSpec& s) { s.bos = -1; },
      "tokenizer.ggml.add_bos_token: true, but tokenizer.ggml.bos_token_id");
  bad(
      [](TokenizerSpec& s) {
        s.add_eos = true;
        s.eos = -1;
      },
      "tokenizer.ggml.add_eos_token: true");
  bad([](TokenizerSpec& s) { s.tokens[258] = "ab"; },
      "tokenizer.ggml.tokens: duplicate token \"ab\" at ids 257 and 258");
  bad([](TokenizerSpec& s) { s.tokens['A'] = "A_missing"; },
      "tokenizer.ggml.tokens: vocabulary lacks byte 0x41 token \"A\"");
  bad([](TokenizerSpec& s) { s.merges[1] = "ab"; },
      "tokenizer.ggml.merges[1]: \"ab\" is not two tokens separated by one space");
  bad([](TokenizerSpec& s) { s.merges[1] = "a  b"; }, "tokenizer.ggml.merges[1]");
  bad([](TokenizerSpec& s) { s.merges[2] = "xy z"; },
      "tokenizer.ggml.merges[2]: \"xy z\": \"xy\" is not in tokenizer.ggml.tokens");
  bad([](TokenizerSpec& s) { s.merges[2] = "x y"; }, "\"xy\" is not in tokenizer.ggml.tokens");
  bad([](TokenizerSpec& s) { s.pre = "qwen2"; },
      "tokenizer.ggml.pre: unsupported pre-tokenizer \"qwen2\"");
  bad([](TokenizerSpec& s) { s.scores.clear(); }, "tokenizer.ggml.scores: empty", true);
  bad([](TokenizerSpec& s) { s.scores.pop_back(); },
      "tokenizer.ggml.scores: 267 entries, expected 268", true);
  bad(
      [](TokenizerSpec& s) {
        s.tokens[3 + 7] = "<0x07>x";
        s.unk = -1;
      },
      "tokenizer.ggml.unknown_token_id: not set", true);
}

// --- Synthetic vocabularies -------------------------------------------------------------------

TEST(VocabSynthetic, Gpt2FullSizeHasLlama3Ids) {
  const TokenizerSpec s = synthetic_gpt2_vocab(128256);
  ASSERT_EQ(s.tokens.size(), 128256u);
  ASSERT_EQ(s.types.size(), 128256u);
  EXPECT_EQ(s.model, "gpt2");
  EXPECT_EQ(s.pre, "llama-bpe");
  EXPECT_EQ(s.tokens[128000], "<|begin_of_text|>");
  EXPECT_EQ(s.tokens[128001], "<|end_of_text|>");
  EXPECT_EQ(s.tokens[128006], "<|start_header_id|>");
  EXPECT_EQ(s.tokens[128007], "<|end_header_id|>");
  EXPECT_EQ(s.tokens[128009], "<|eot_id|>");
  EXPECT_EQ(s.bos, 128000);
  EXPECT_EQ(s.eos, 128001);
  EXPECT_TRUE(s.add_bos);
  EXPECT_EQ(s.chat_template, kBitnet2B4TChatTemplate);
  EXPECT_EQ(s.tokens[0], "!");  // GPT-2's byte order: printable bytes first
  EXPECT_EQ(s.tokens[255], gpt2_byte_text(0xAD));
  EXPECT_GE(s.merges.size(), 300u);
  EXPECT_LE(s.merges.size(), 400u);
  EXPECT_EQ(s.types[128000], TokenType::kControl);
  EXPECT_EQ(s.types[128255], TokenType::kControl);
  EXPECT_EQ(s.types[0], TokenType::kNormal);

  const Tokenizer tok(s);
  EXPECT_TRUE(tok.is_eog(128009));
  EXPECT_TRUE(tok.is_eog(128001));
  EXPECT_FALSE(tok.is_eog(128000));
  const Ids ids = tok.encode("The quick brown fox and the lazy dog.");
  EXPECT_EQ(ids.front(), 128000);
  EXPECT_LT(ids.size(), 20u);  // 37 bytes: the learned merges do merge
  // Deterministic: a second build is identical.
  const TokenizerSpec again = synthetic_gpt2_vocab(128256);
  EXPECT_EQ(again.tokens, s.tokens);
  EXPECT_EQ(again.merges, s.merges);
}

TEST(VocabSynthetic, Gpt2RoundTrips) {
  const std::uint64_t seed = 19;
  for (const std::int64_t size : {262, 1000, 128256}) {
    const TokenizerSpec spec = synthetic_gpt2_vocab(size);
    ASSERT_EQ(static_cast<std::int64_t>(spec.tokens.size()), size);
    const Tokenizer tok(spec);
    Strings all = corpus();
    for (auto& s : random_strings(seed, 200)) all.push_back(std::move(s));
    for (const std::string& s : all) {
      ASSERT_EQ(tok.decode(tok.encode(s, false)), s) << "size " << size << " seed " << seed;
      ASSERT_EQ(tok.decode(tok.encode(s, true, false), true), s)
          << "size " << size << " seed " << seed;
    }
  }
}

TEST(VocabSynthetic, Gpt2SmallSizesPutSpecialsLast) {
  const TokenizerSpec s = synthetic_gpt2_vocab(1000);
  EXPECT_EQ(s.tokens[995], "<|begin_of_text|>");
  EXPECT_EQ(s.tokens[999], "<|eot_id|>");
  EXPECT_EQ(s.bos, 995);
  EXPECT_EQ(s.eos, 996);
  const TokenizerSpec tiny = synthetic_gpt2_vocab(262);
  EXPECT_EQ(tiny.merges.size(), 1u);
  expect_invalid([] { synthetic_gpt2_vocab(261); },
                 "synthetic_gpt2_vocab: vocab_size 261 out of range");
}

TEST(VocabSynthetic, LlamaLayoutAndRoundTrips) {
  const std::uint64_t seed = 23;
  for (const std::int64_t size : {260, 600, 32000}) {
    const TokenizerSpec s = synthetic_llama_vocab(size);
    ASSERT_EQ(static_cast<std::int64_t>(s.tokens.size()), size);
    ASSERT_EQ(s.scores.size(), s.tokens.size());
    EXPECT_EQ(s.tokens[0], "<unk>");
    EXPECT_EQ(s.tokens[1], "<s>");
    EXPECT_EQ(s.tokens[2], "</s>");
    EXPECT_EQ(s.tokens[3], "<0x00>");
    EXPECT_EQ(s.tokens[258], "<0xFF>");
    EXPECT_EQ(s.types[100], TokenType::kByte);
    EXPECT_EQ(s.unk, 0);
    EXPECT_EQ(s.bos, 1);
    EXPECT_EQ(s.eos, 2);
    const Tokenizer tok(s);
    Strings all = corpus();
    for (auto& r : random_strings(seed, 200)) all.push_back(std::move(r));
    for (const std::string& text : all) {
      if (text.find(kU) != std::string::npos) continue;
      ASSERT_EQ(tok.decode(tok.encode(text, false)), text) << "size " << size << " seed " << seed;
    }
  }
  const Tokenizer tok(synthetic_llama_vocab(32000));
  EXPECT_LT(tok.encode("The quick brown fox and the lazy dog.").size(), 20u);
  expect_invalid([] { synthetic_llama_vocab(259); },
                 "synthetic_llama_vocab: vocab_size 259 out of range");
}

}  // namespace
}  // namespace tritbench::models
