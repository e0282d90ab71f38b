// Real models: the sampler, safetensors files, HF checkpoints (both BitLinear styles, both
// weight_scale conventions, sharded or not) converted to GGUF and giving exactly the logits of the
// same weights read directly, HF tokenizers, and the generate / convert CLI. Every bad input is a
// clear error naming the file and field, with nothing written half-way.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "harness/lib/e2e_check.h"
#include "kernels/registry.h"
#include "models/convert.h"
#include "models/f16.h"
#include "models/gguf_source.h"
#include "models/hf_source.h"
#include "models/safetensors.h"
#include "models/sampler.h"
#include "models/synth.h"
#include "models/tokenizer.h"
#include "models/transformer.h"
#include "models/vocab_synthetic.h"
#include "reference/quantize.h"
#include "reference/rng.h"
#include "tests/test_util.h"

namespace tritbench::models {
namespace {

using test::TempDir;

namespace fs = std::filesystem;
using json = nlohmann::json;

void write_text(const std::string& path, const std::string& s) {
  std::ofstream f(path, std::ios::binary);
  f << s;
}

std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Runs `body` expecting an exception of type E whose message contains every fragment.
template <class E, class F>
void expect_error(F&& body, const std::vector<std::string>& fragments) {
  try {
    body();
    ADD_FAILURE() << "no error; expected one mentioning '" << fragments.front() << "'";
  } catch (const E& e) {
    const std::string msg = e.what();
    for (const auto& f : fragments)
      EXPECT_NE(msg.find(f), std::string::npos) << "'" << f << "' not in: " << msg;
  }
}

// ------------------------------------------------------------------------------------------------
// Sampler

TEST(Sampler, GreedyIsArgmaxWithLowestIdOnTies) {
  Sampler s({0.0, 40, 0.95, 1});
  const std::vector<float> l = {0.5f, 2.0f, -1.0f, 2.0f};
  EXPECT_EQ(s.sample(l), 1);
  // top_k = 1 or a tiny top_p is greedy at any temperature.
  Sampler k1({5.0, 1, 1.0, 9}), p0({5.0, 0, 1e-9, 9});
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(k1.sample(l), 1);
    EXPECT_EQ(p0.sample(l), 1);
  }
}

TEST(Sampler, SameSeedSameDrawsAndTheRightDistribution) {
  const std::vector<float> l = {std::log(0.5f), std::log(0.3f), std::log(0.2f), -INFINITY};
  Sampler a({1.0, 0, 1.0, 42}), b({1.0, 0, 1.0, 42}), c({1.0, 0, 1.0, 43});
  std::vector<int> count(4, 0);
  int differ = 0;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    const auto x = a.sample(l);
    ASSERT_EQ(x, b.sample(l)) << "seed 42, draw " << i;
    differ += x != c.sample(l);
    ++count[static_cast<std::size_t>(x)];
  }
  EXPECT_GT(differ, n / 4);
  EXPECT_EQ(count[3], 0);  // probability 0
  // Seeded, so these are fixed numbers; the bounds are 5 standard deviations.
  EXPECT_NEAR(count[0], 0.5 * n, 5 * std::sqrt(0.25 * n));
  EXPECT_NEAR(count[1], 0.3 * n, 5 * std::sqrt(0.21 * n));
  // top_p 0.6: only the two most likely (0.5 < 0.6 <= 0.8), renormalized to 5:3.
  Sampler p({1.0, 0, 0.6, 7});
  int first = 0;
  for (int i = 0; i < n; ++i) {
    const auto x = p.sample(l);
    ASSERT_LT(x, 2);
    first += x == 0;
  }
  EXPECT_NEAR(first, 0.625 * n, 5 * std::sqrt(0.234 * n));
  // top_k 1 of a flat distribution picks the lowest id.
  Sampler k({1.0, 1, 1.0, 3});
  EXPECT_EQ(k.sample(std::vector<float>(5, 0.0f)), 0);
}

TEST(Sampler, BadInputIsRefused) {
  EXPECT_THROW(Sampler({1.0, 0, 0.0, 1}), std::invalid_argument);
  EXPECT_THROW(Sampler({1.0, 0, 1.5, 1}), std::invalid_argument);
  EXPECT_THROW(Sampler({NAN, 0, 1.0, 1}), std::invalid_argument);
  Sampler s({1.0, 0, 1.0, 1});
  expect_error<std::invalid_argument>(
      [&] {
        s.sample(std::vector<float>{1.0f, NAN});
      },
      {"logit 1 is NaN"});
  EXPECT_THROW(s.sample(std::vector<float>{}), std::invalid_argument);
}

// ------------------------------------------------------------------------------------------------
// Safetensors files

std::vector<std::uint8_t> bytes_of(const std::vector<float>& v) {
  std::vector<std::uint8_t> b(v.size() * 4);
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

// A file from a header text and a data buffer of `data_bytes` bytes (0, 1, 2, ...).
std::vector<std::uint8_t> raw_file(const std::string& header, std::size_t data_bytes) {
  std::vector<std::uint8_t> b(8 + header.size() + data_bytes);
  const std::uint64_t n = header.size();
  std::memcpy(b.data(), &n, 8);
  std::memcpy(b.data() + 8, header.data(), header.size());
  for (std::size_t i = 0; i < data_bytes; ++i)
    b[8 + header.size() + i] = static_cast<std::uint8_t>(i);
  return b;
}

TEST(Safetensors, WriteThenReadRoundTrip) {
  TempDir tmp;
  std::vector<std::uint8_t> bf(6);
  for (int i = 0; i < 3; ++i) {
    const std::uint16_t h = f32_to_bf16(0.5f * static_cast<float>(i + 1));
    std::memcpy(bf.data() + 2 * i, &h, 2);
  }
  const std::vector<StWriteTensor> ts = {
      {"a.weight", StDType::kF32, {2, 3}, bytes_of({1, 2, 3, 4, 5, 6})},
      {"b", StDType::kBF16, {3}, bf},
      {"c.scale", StDType::kU8, {}, {7}},
      {"d", StDType::kI8, {2}, {0xff, 0x02}},
      {"e.empty", StDType::kF16, {0, 4}, {}},
  };
  const std::string path = tmp.path("m.safetensors");
  write_safetensors(path, ts, {{"format", "pt"}});
  const auto f = SafetensorsFile::open(path);
  ASSERT_EQ(f->tensors().size(), 5u);
  EXPECT_EQ(f->tensors()[0].name, "a.weight");  // header order kept
  EXPECT_EQ(f->metadata().at("format"), "pt");
  const StTensor* a = f->find("a.weight");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->shape, (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(a->get(5), 6.0f);
  EXPECT_EQ(f->find("b")->get(2), 1.5f);
  EXPECT_EQ(f->find("c.scale")->elements(), 1);
  EXPECT_EQ(f->find("c.scale")->get(0), 7.0f);
  EXPECT_EQ(f->find("d")->get(0), -1.0f);
  EXPECT_EQ(f->find("e.empty")->elements(), 0);
  std::vector<float> out(3);
  f->find("b")->to_float(0, 3, out.data());
  EXPECT_EQ(out, (std::vector<float>{0.5f, 1.0f, 1.5f}));
  // The header is padded to 8 bytes and the data follows it back to back.
  std::uint64_t n;
  const auto raw = read_text(path);
  std::memcpy(&n, raw.data(), 8);
  EXPECT_EQ(n % 8, 0u);
  EXPECT_EQ(raw.size(), 8 + n + 24 + 6 + 1 + 2);
}

// Resident KiB of this process's mapping that holds p (/proc/self/smaps), -1 if none does.
long resident_kib(const void* p) {
  std::ifstream in("/proc/self/smaps");
  const auto a = reinterpret_cast<std::uintptr_t>(p);
  std::string line;
  bool inside = false;
  while (std::getline(in, line)) {
    unsigned long lo = 0, hi = 0;
    char dash = 0;
    std::istringstream head(line);
    if (head >> std::hex >> lo >> dash >> hi && dash == '-') {
      inside = lo <= a && a < hi;
      continue;
    }
    if (inside && line.rfind("Rss:", 0) == 0) return std::stol(line.substr(4));
  }
  return -1;
}

// Releasing a tensor drops its pages from the resident set of an mmapped file and changes nothing
// it reads; a file parsed from memory is left alone (dropping heap pages would zero them).
TEST(Safetensors, ReleaseDropsResidentPagesNotData) {
  TempDir tmp;
  std::vector<float> v(64 * 1024);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i % 1000) - 500.0f;
  const std::string path = tmp.path("big.safetensors");
  write_safetensors(path, {{"w", StDType::kF32, {256, 256}, bytes_of(v)}});
  auto read_all = [](const StTensor& t) {
    std::vector<float> out(static_cast<std::size_t>(t.elements()));
    t.to_float(0, t.elements(), out.data());
    return out;
  };
  const auto f = SafetensorsFile::open(path);
  const StTensor& t = *f->find("w");
  ASSERT_EQ(read_all(t), v);
  const long before = resident_kib(t.data);
  ASSERT_GE(before, 250) << "the 256 KiB tensor was just read";
  f->release(t);
  EXPECT_LE(resident_kib(t.data), 8) << "whole pages of the tensor still resident";
  EXPECT_EQ(read_all(t), v) << "released pages must read back the same";

  const std::string raw = read_text(path);
  const auto m = SafetensorsFile::parse({raw.begin(), raw.end()}, "mem.safetensors");
  m->release(*m->find("w"));
  EXPECT_EQ(read_all(*m->find("w")), v);
}

TEST(Safetensors, BadFilesAreRefusedByField) {
  auto expect = [](const std::vector<std::uint8_t>& b, const std::vector<std::string>& frags) {
    expect_error<SafetensorsError>([&] { SafetensorsFile::parse(b, "bad.safetensors"); },
                                   [&] {
                                     auto v = frags;
                                     v.push_back("bad.safetensors: ");
                                     return v;
                                   }());
  };
  const std::string ok = R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  EXPECT_NO_THROW(SafetensorsFile::parse(raw_file(ok, 8), "ok"));
  expect({1, 2, 3}, {"expected at least 8"});
  // A truncated header: the length says more than the file has.
  auto trunc = raw_file(ok, 8);
  trunc.resize(8 + ok.size() / 2);
  expect(trunc, {"length field is", "truncated"});
  expect(raw_file("[1, 2]", 0), {"JSON object starting with '{'"});
  expect(raw_file("{\"t\": ", 0), {"not a valid JSON object"});
  expect(
      raw_file(
          R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"t":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
          8),
      {"tensor 't' is listed twice"});
  expect(raw_file(R"({"t":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}})", 8),
         {"tensor 't'", "dtype 'Q4'"});
  expect(raw_file(R"({"t":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8),
         {"'shape' -2 is not a non-negative integer"});
  expect(raw_file(R"({"t":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}})", 8),
         {"'shape' 2.5"});
  expect(raw_file(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 4),
         {"past the data buffer of 4 bytes"});
  expect(raw_file(R"({"t":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 12),
         {"span 8 bytes", "needs 12"});
  expect(raw_file(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", 8), {"begin > end"});
  expect(raw_file(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", 8),
         {"'data_offsets' must be [begin, end]"});
  expect(
      raw_file(
          R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}})",
          8),
      {"overlap"});
  expect(
      raw_file(R"({"t":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", 8),
      {"too many elements"});
  expect(raw_file(R"({"__metadata__":{"a":1}})", 0), {"'__metadata__' entry 'a' is not a string"});
  // Readable dtypes only: others parse but cannot be read as numbers.
  const auto f = SafetensorsFile::parse(
      raw_file(R"({"t":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}})", 8), "i64");
  expect_error<SafetensorsError>([&] { f->find("t")->get(0); }, {"dtype I64"});
}

// Cut a valid file at every byte: inside the length field, the JSON header, and every tensor's data
// (each section boundary included). Each cut is an error naming the file and the section or tensor.
TEST(Safetensors, TruncationAtEveryByteAndSectionBoundary) {
  TempDir tmp;
  const std::string path = tmp.path("full.safetensors");
  write_safetensors(path, {{"a", StDType::kF32, {3}, bytes_of({1, 2, 3})},
                           {"b", StDType::kBF16, {2, 2}, std::vector<std::uint8_t>(8, 0x3f)},
                           {"c", StDType::kU8, {5}, std::vector<std::uint8_t>(5, 1)}});
  std::ifstream in(path, std::ios::binary);
  const std::vector<std::uint8_t> full{std::istreambuf_iterator<char>(in), {}};
  const auto f = SafetensorsFile::parse(full, "full");
  std::uint64_t n;
  std::memcpy(&n, full.data(), 8);
  const std::size_t data_start = 8 + static_cast<std::size_t>(n);
  ASSERT_EQ(full.size(), data_start + 12 + 8 + 5);
  for (std::size_t cut = 0; cut < full.size(); ++cut) {
    const std::vector<std::uint8_t> b(full.begin(),
                                      full.begin() + static_cast<std::ptrdiff_t>(cut));
    SCOPED_TRACE("cut at byte " + std::to_string(cut) + " of " + std::to_string(full.size()));
    if (cut < 8) {
      expect_error<SafetensorsError>([&] { SafetensorsFile::parse(b, "t.safetensors"); },
                                     {"t.safetensors: header", "expected at least 8"});
    } else if (cut < data_start) {
      expect_error<SafetensorsError>([&] { SafetensorsFile::parse(b, "t.safetensors"); },
                                     {"t.safetensors: header: length field is", "truncated"});
    } else {
      // The first tensor (a [0,12), b [12,20), c [20,25)) whose data the cut removes.
      const std::size_t d = cut - data_start;
      const std::string named = d < 12   ? "tensor 'a': 'data_offsets' end 12"
                                : d < 20 ? "tensor 'b': 'data_offsets' end 20"
                                         : "tensor 'c': 'data_offsets' end 25";
      expect_error<SafetensorsError>(
          [&] { SafetensorsFile::parse(b, "t.safetensors"); },
          {"t.safetensors: " + named, "past the data buffer of " + std::to_string(d) + " bytes"});
    }
  }
}

// Sizes and offsets near 2^64: every sum and product is checked, never wrapped.
TEST(Safetensors, SizesThatOverflow64BitsAreRefused) {
  auto expect = [](const std::vector<std::uint8_t>& b, const std::vector<std::string>& frags) {
    expect_error<SafetensorsError>([&] { SafetensorsFile::parse(b, "big.safetensors"); }, frags);
  };
  // The header length 2^64 - 1 (8 + n wraps) and 2^63.
  for (std::uint64_t n : {~std::uint64_t{0}, std::uint64_t{1} << 63}) {
    auto b = raw_file("{}", 0);
    std::memcpy(b.data(), &n, 8);
    expect(b, {"big.safetensors: header: length field is " + std::to_string(n), "truncated"});
  }
  // 2^62 elements of F32 and F64: the byte size wraps to 0 (and would match empty data_offsets).
  expect(
      raw_file(R"({"t":{"dtype":"F32","shape":[1099511627776,4194304],"data_offsets":[0,0]}})", 0),
      {"big.safetensors: tensor 't': 'shape' [1099511627776,4194304] of F32", "overflows 64 bits"});
  expect(raw_file(R"({"t":{"dtype":"F64","shape":[1099511627776,2097152,2],"data_offsets":[0,0]}})",
                  0),
         {"tensor 't'", "overflows 64 bits"});
  // A dimension product beyond 2^64.
  expect(
      raw_file(R"({"t":{"dtype":"U8","shape":[1099511627776,1099511627776],"data_offsets":[0,0]}})",
               0),
      {"tensor 't'", "too many elements"});
  // Offsets at 2^64 - 1, and beyond (a JSON number no uint64 holds).
  expect(
      raw_file(
          R"({"t":{"dtype":"U8","shape":[1],"data_offsets":[18446744073709551614,18446744073709551615]}})",
          8),
      {"tensor 't': 'data_offsets' end 18446744073709551615 is past the data buffer of 8 bytes"});
  expect(raw_file(R"({"t":{"dtype":"U8","shape":[1],"data_offsets":[0,18446744073709551616]}})", 8),
         {"tensor 't': 'data_offsets' must be [begin, end]"});
  expect(raw_file(R"({"t":{"dtype":"U8","shape":[18446744073709551615],"data_offsets":[0,1]}})", 8),
         {"tensor 't': 'shape' [18446744073709551615] has too many elements"});
}

TEST(Safetensors, ShardedCheckpointsAndMissingFiles) {
  TempDir tmp;
  const std::string dir = tmp.dir("ckpt");
  write_safetensors(
      dir + "/model-00001-of-00002.safetensors",
      {{"x", StDType::kF32, {1}, bytes_of({1})}, {"y", StDType::kF32, {1}, bytes_of({2})}});
  write_safetensors(dir + "/model-00002-of-00002.safetensors",
                    {{"z", StDType::kF32, {1}, bytes_of({3})}});
  json index = {{"metadata", {{"total_size", 12}}},
                {"weight_map",
                 {{"x", "model-00001-of-00002.safetensors"},
                  {"y", "model-00001-of-00002.safetensors"},
                  {"z", "model-00002-of-00002.safetensors"}}}};
  write_text(dir + "/model.safetensors.index.json", index.dump());
  const SafetensorsCheckpoint ck(dir);
  EXPECT_EQ(ck.shards(), 2u);
  EXPECT_EQ(ck.names(), (std::vector<std::string>{"x", "y", "z"}));
  EXPECT_EQ(ck.find("z")->get(0), 3.0f);
  EXPECT_EQ(ck.find("w"), nullptr);

  index["weight_map"]["w"] = "model-00002-of-00002.safetensors";
  write_text(dir + "/model.safetensors.index.json", index.dump());
  expect_error<SafetensorsError>(
      [&] { SafetensorsCheckpoint{dir}; },
      {"model.safetensors.index.json", "tensor 'w'", "does not contain it"});
  index["weight_map"]["w"] = "../elsewhere.safetensors";
  write_text(dir + "/model.safetensors.index.json", index.dump());
  expect_error<SafetensorsError>([&] { SafetensorsCheckpoint{dir}; },
                                 {"expected a file name in the checkpoint folder"});
  index["weight_map"]["w"] = "model-00003-of-00002.safetensors";
  write_text(dir + "/model.safetensors.index.json", index.dump());
  expect_error<SafetensorsError>([&] { SafetensorsCheckpoint{dir}; },
                                 {"model-00003-of-00002.safetensors: cannot open"});
  write_text(dir + "/model.safetensors.index.json", "{\"weight_map\": {}}");
  expect_error<SafetensorsError>([&] { SafetensorsCheckpoint{dir}; },
                                 {"'weight_map' is missing or empty"});

  const std::string empty = tmp.dir("empty");
  write_text(empty + "/pytorch_model.bin", "x");
  expect_error<SafetensorsError>([&] { SafetensorsCheckpoint{empty}; },
                                 {"no model.safetensors", "PyTorch .bin"});
}

// ------------------------------------------------------------------------------------------------
// Packed uint8 weights, by hand

TEST(HfPacked, UnpacksAHandWrittenExample) {
  // 8 output rows x 2 columns, packed as 2 byte rows: byte (r, k) holds rows r, r+2, r+4, r+6 of
  // column k in bits 1:0, 3:2, 5:4, 7:6, each as ternary + 1.
  //   (0,0) = 0b10'01'00'10: rows 0,2,4,6 of col 0 = +1, -1,  0, +1
  //   (0,1) = 0b00'00'00'00: rows 0,2,4,6 of col 1 = -1, -1, -1, -1
  //   (1,0) = 0b01'01'01'01: rows 1,3,5,7 of col 0 =  0,  0,  0,  0
  //   (1,1) = 0b00'10'01'10: rows 1,3,5,7 of col 1 = +1,  0, +1, -1
  const std::uint8_t packed[] = {0x92, 0x00, 0x55, 0x26};
  const std::vector<std::int8_t> want = {
      +1, -1,  // row 0
      0,  +1,  // row 1
      -1, -1,  // row 2
      0,  0,   // row 3
      0,  -1,  // row 4
      0,  +1,  // row 5
      +1, -1,  // row 6
      0,  -1,  // row 7
  };
  const TernaryMatrix d = unpack_hf_ternary(packed, 8, 2, 4.0f, true, "t");
  EXPECT_EQ(d.M, 8);
  EXPECT_EQ(d.K, 2);
  EXPECT_EQ(d.w, want);
  EXPECT_EQ(d.scale, 0.25f);  // BitLinear: divide by weight_scale
  EXPECT_EQ(unpack_hf_ternary(packed, 8, 2, 4.0f, false, "t").scale, 4.0f);  // AutoBitLinear
  const std::uint8_t bad[] = {0x92, 0x00, 0x55, 0x36};                       // (1,1) bits 5:4 = 3
  expect_error<HfError>([&] { unpack_hf_ternary(bad, 8, 2, 1.0f, true, "q_proj"); },
                        {"q_proj", "row 1, column 1", "bits 4..5 hold code 3"});
  expect_error<HfError>([&] { unpack_hf_ternary(packed, 8, 2, 0.0f, true, "q_proj"); },
                        {"weight_scale is 0"});
  expect_error<HfError>([&] { unpack_hf_ternary(packed, 6, 2, 1.0f, true, "q_proj"); },
                        {"not a multiple of 4"});
}

// ------------------------------------------------------------------------------------------------
// A model as canonical tensors, and HF checkpoints of it

// Canonical weights whose float "master" form absmean-quantizes back to exactly them: each
// BitLinear has a power-of-two scale s, and master values that are multiples of s/4 with mean|W|
// exactly s (zeros as 0 or +-s/4, non-zeros +-s..+-2s, all exact in bf16). Norms and embeddings
// are exact in bf16, f16 and f32, so every checkpoint style stores the same numbers.
struct Canonical {
  ModelConfig cfg;
  std::map<std::string, TernaryMatrix> ternary;
  std::map<std::string, std::vector<float>> master;
  std::map<std::string, std::vector<float>> dense;
  TokenizerSpec vocab;
};

Canonical make_canonical(ModelConfig cfg, std::uint64_t seed) {
  Canonical m;
  m.cfg = cfg;
  Rng rng(seed);
  const SyntheticSource layout(cfg, 0);
  int index = 0;
  for (const auto& n : layout.tensor_names()) {
    const auto [rows, cols] = layout.shape(n);
    const std::int64_t N = rows * cols;
    if (is_bitlinear_weight(n)) {
      TernaryMatrix t;
      t.M = rows;
      t.K = cols;
      t.scale = std::ldexp(1.0f, -(3 + index++ % 4));
      t.w.resize(static_cast<std::size_t>(N));
      for (auto& v : t.w) v = rng.ternary();
      std::vector<int> quarters(static_cast<std::size_t>(N));
      std::int64_t total = 0;
      for (std::int64_t i = 0; i < N; ++i)
        total += quarters[i] = t.w[i] == 0 ? static_cast<int>(rng.below(2)) : 4;
      std::int64_t need = 4 * N - total;  // quarters still to add to reach mean |W| = s
      for (std::int64_t i = static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(N)));
           need > 0; i = (i + 7) % N)
        if (t.w[i] != 0 && quarters[i] < 8) {
          ++quarters[i];
          --need;
        }
      std::vector<float> w(static_cast<std::size_t>(N));
      for (std::int64_t i = 0; i < N; ++i) {
        const float sign = t.w[i] != 0 ? t.w[i] : (rng.below(2) ? 1.0f : -1.0f);
        w[i] = sign * static_cast<float>(quarters[i]) * t.scale / 4;
      }
      m.ternary[n] = std::move(t);
      m.master[n] = std::move(w);
    } else if (rows == 1) {
      std::vector<float> v(static_cast<std::size_t>(cols));
      for (auto& x : v) x = 1.0f + static_cast<float>(static_cast<int>(rng.below(33)) - 16) / 64;
      m.dense[n] = std::move(v);
    } else {
      std::vector<float> v(static_cast<std::size_t>(N));
      for (auto& x : v) x = static_cast<float>(static_cast<int>(rng.below(511)) - 255) / 1024;
      m.dense[n] = std::move(v);
    }
  }
  m.vocab = synthetic_gpt2_vocab(cfg.vocab);
  return m;
}

// The canonical tensors read directly: ternary as is, norms F32, matrices F16.
class MemorySource : public WeightSource {
 public:
  explicit MemorySource(const Canonical& m) : m_(m) {}
  const ModelConfig& config() const override { return m_.cfg; }
  TernaryMatrix ternary(const std::string& n) const override { return m_.ternary.at(n); }
  DenseTensor dense(const std::string& n) const override {
    const auto& v = m_.dense.at(n);
    DenseTensor d;
    d.name = n;
    const SyntheticSource layout(m_.cfg, 0);
    std::tie(d.rows, d.cols) = layout.shape(n);
    if (d.rows == 1) {
      d.type = DType::kF32;
      d.data = reinterpret_cast<const std::uint8_t*>(v.data());
      return d;
    }
    auto h = std::make_shared<std::vector<std::uint16_t>>(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) (*h)[i] = f32_to_f16(v[i]);
    d.type = DType::kF16;
    d.data = reinterpret_cast<const std::uint8_t*>(h->data());
    d.keep = h;
    return d;
  }
  bool has(const std::string& n) const override { return m_.ternary.count(n) || m_.dense.count(n); }
  const TokenizerSpec* tokenizer() const override { return &m_.vocab; }
  std::string describe() const override { return "memory"; }

 private:
  const Canonical& m_;
};

enum class Style { kMaster, kPackedDivide, kPackedMultiply };

struct HfLayout {
  Style style = Style::kMaster;
  bool sharded = false;
  bool onebit_names = false;  // 1bitLLM's inner_attn_ln / ffn_layernorm
  bool merge_pairs = false;   // tokenizer.json merges as [a, b] pairs
};

std::string hf_name(const std::string& gguf, bool onebit) {
  if (gguf == "token_embd.weight") return "model.embed_tokens.weight";
  if (gguf == "output_norm.weight") return "model.norm.weight";
  if (gguf == "output.weight") return "lm_head.weight";
  const std::size_t d1 = gguf.find('.', 4), d2 = gguf.rfind('.');
  const std::string layer = gguf.substr(4, d1 - 4), what = gguf.substr(d1 + 1, d2 - d1 - 1);
  const std::map<std::string, std::string> m = {
      {"attn_norm", "input_layernorm"},
      {"attn_q", "self_attn.q_proj"},
      {"attn_k", "self_attn.k_proj"},
      {"attn_v", "self_attn.v_proj"},
      {"attn_output", "self_attn.o_proj"},
      {"attn_sub_norm", onebit ? "self_attn.inner_attn_ln" : "self_attn.attn_sub_norm"},
      {"ffn_norm", "post_attention_layernorm"},
      {"ffn_gate", "mlp.gate_proj"},
      {"ffn_up", "mlp.up_proj"},
      {"ffn_down", "mlp.down_proj"},
      {"ffn_sub_norm", onebit ? "mlp.ffn_layernorm" : "mlp.ffn_sub_norm"}};
  return "model.layers." + layer + "." + m.at(what) + ".weight";
}

std::vector<std::uint8_t> as_bf16(const std::vector<float>& v) {
  std::vector<std::uint8_t> b(v.size() * 2);
  for (std::size_t i = 0; i < v.size(); ++i) {
    const std::uint16_t h = f32_to_bf16(v[i]);
    EXPECT_EQ(bf16_to_f32(h), v[i]) << "test data not exact in bf16";
    std::memcpy(b.data() + 2 * i, &h, 2);
  }
  return b;
}

json hf_config(const ModelConfig& c, Style style) {
  json j = {{"hidden_size", c.hidden},           {"intermediate_size", c.ffn},
            {"num_hidden_layers", c.layers},     {"num_attention_heads", c.heads},
            {"num_key_value_heads", c.kv_heads}, {"vocab_size", c.vocab},
            {"rope_theta", c.rope_theta},        {"rms_norm_eps", c.eps},
            {"max_position_embeddings", 512},    {"tie_word_embeddings", c.tied},
            {"torch_dtype", "bfloat16"}};
  if (!c.sub_norms) {
    j["architectures"] = {"LlamaForCausalLM"};
    j["hidden_act"] = "silu";
  } else {
    j["architectures"] = {"BitNetForCausalLM"};
    j["hidden_act"] = c.act == Activation::kReluSquared ? "relu2" : "silu";
  }
  if (style == Style::kPackedMultiply) {
    j["quantization_config"] = {{"quant_method", "bitnet"},
                                {"linear_class", "autobitlinear"},
                                {"quantization_mode", "offline"}};
  } else if (style == Style::kPackedDivide || !c.sub_norms) {
    j["quantization_config"] = {{"quant_method", "bitnet"}, {"linear_class", "bitlinear"}};
  } else {
    j["quantization_config"] = {{"quant_method", "bitnet"},
                                {"linear_class", "autobitlinear"},
                                {"quantization_mode", "online"}};
  }
  return j;
}

// tokenizer.json + tokenizer_config.json of a gpt2 TokenizerSpec, as HF tokenizers writes them.
void write_hf_tokenizer(const TokenizerSpec& v, const std::string& dir, bool merge_pairs) {
  json vocab = json::object(), added = json::array(), merges = json::array();
  for (std::size_t i = 0; i < v.tokens.size(); ++i) {
    if (v.types[i] == TokenType::kControl) {
      added.push_back({{"id", i},
                       {"content", v.tokens[i]},
                       {"single_word", false},
                       {"lstrip", false},
                       {"rstrip", false},
                       {"normalized", false},
                       {"special", true}});
    } else {
      vocab[v.tokens[i]] = i;
    }
  }
  for (const auto& m : v.merges) {
    const auto sp = m.find(' ');
    if (merge_pairs) {
      merges.push_back({m.substr(0, sp), m.substr(sp + 1)});
    } else {
      merges.push_back(m);
    }
  }
  const std::string bos = v.tokens[static_cast<std::size_t>(v.bos)];
  json split = {{"type", "Split"},
                {"pattern", {{"Regex", PreTokenizer::pattern(PreTokenizer::Kind::kLlama3)}}},
                {"behavior", "Isolated"},
                {"invert", false}};
  json byte_level = {{"type", "ByteLevel"},
                     {"add_prefix_space", false},
                     {"trim_offsets", true},
                     {"use_regex", false}};
  json pre = {{"type", "Sequence"}, {"pretokenizers", json::array({split, byte_level})}};
  json single = json::array({json{{"SpecialToken", {{"id", bos}, {"type_id", 0}}}},
                             json{{"Sequence", {{"id", "A"}, {"type_id", 0}}}}});
  json post = {
      {"type", "Sequence"},
      {"processors", json::array({json{{"type", "ByteLevel"}, {"add_prefix_space", true}},
                                  json{{"type", "TemplateProcessing"}, {"single", single}}})}};
  json model = {{"type", "BPE"},          {"dropout", nullptr},    {"unk_token", nullptr},
                {"byte_fallback", false}, {"ignore_merges", true}, {"vocab", vocab},
                {"merges", merges}};
  json j = json::object();
  j["version"] = "1.0";
  j["truncation"] = nullptr;
  j["padding"] = nullptr;
  j["added_tokens"] = added;
  j["normalizer"] = nullptr;
  j["pre_tokenizer"] = pre;
  j["post_processor"] = post;
  j["decoder"] = {{"type", "ByteLevel"}};
  j["model"] = model;
  write_text(dir + "/tokenizer.json", j.dump(1));
  const json cfg = {
      {"bos_token", bos},
      {"eos_token", {{"content", v.tokens[static_cast<std::size_t>(v.eos)]}, {"special", true}}},
      {"chat_template", v.chat_template},
      {"model_max_length", 4096}};
  write_text(dir + "/tokenizer_config.json", cfg.dump(1));
}

void write_hf(const Canonical& m, const std::string& dir, const HfLayout& lay) {
  const SyntheticSource layout(m.cfg, 0);
  std::vector<StWriteTensor> ts;
  for (const auto& n : layout.tensor_names()) {
    const auto [rows, cols] = layout.shape(n);
    const std::string hf = hf_name(n, lay.onebit_names);
    if (!is_bitlinear_weight(n)) {
      ts.push_back(
          {hf, StDType::kBF16,
           rows == 1 ? std::vector<std::int64_t>{cols} : std::vector<std::int64_t>{rows, cols},
           as_bf16(m.dense.at(n))});
      continue;
    }
    if (lay.style == Style::kMaster) {
      ts.push_back({hf, StDType::kBF16, {rows, cols}, as_bf16(m.master.at(n))});
      continue;
    }
    // transformers' packing: byte row r holds output rows r + j*(M/4) in bits 2j+1:2j, as t + 1.
    const TernaryMatrix& t = m.ternary.at(n);
    const std::int64_t R = rows / 4;
    std::vector<std::uint8_t> p(static_cast<std::size_t>(R * cols), 0);
    for (std::int64_t r = 0; r < R; ++r)
      for (int j = 0; j < 4; ++j)
        for (std::int64_t k = 0; k < cols; ++k)
          p[r * cols + k] |=
              static_cast<std::uint8_t>((t.w[(r + j * R) * cols + k] + 1) << (2 * j));
    ts.push_back({hf, StDType::kU8, {R, cols}, p});
    // Divide: weight_scale = 1 / mean|W| (as BF16 [1]); multiply: weight_scale = mean|W| (F32 []).
    const std::string sname = hf.substr(0, hf.size() - 7) + ".weight_scale";
    if (lay.style == Style::kPackedDivide) {
      ts.push_back({sname, StDType::kBF16, {1}, as_bf16({1.0f / t.scale})});
    } else {
      ts.push_back({sname, StDType::kF32, {}, bytes_of({t.scale})});
    }
  }
  if (lay.onebit_names)  // older checkpoints save RoPE frequencies; they are not weights
    ts.push_back(
        {"model.layers.0.self_attn.rotary_emb.inv_freq", StDType::kF32, {2}, bytes_of({1, 0.5f})});
  if (lay.sharded) {
    const std::size_t half = ts.size() / 2;
    const std::vector<StWriteTensor> a(ts.begin(), ts.begin() + static_cast<std::ptrdiff_t>(half)),
        b(ts.begin() + static_cast<std::ptrdiff_t>(half), ts.end());
    write_safetensors(dir + "/model-00001-of-00002.safetensors", a);
    write_safetensors(dir + "/model-00002-of-00002.safetensors", b);
    json wm = json::object();
    for (const auto& t : a) wm[t.name] = "model-00001-of-00002.safetensors";
    for (const auto& t : b) wm[t.name] = "model-00002-of-00002.safetensors";
    write_text(dir + "/model.safetensors.index.json",
               json{{"metadata", json::object()}, {"weight_map", wm}}.dump());
  } else {
    write_safetensors(dir + "/model.safetensors", ts);
  }
  write_text(dir + "/config.json", hf_config(m.cfg, lay.style).dump(2));
  write_hf_tokenizer(m.vocab, dir, lay.merge_pairs);
}

// Prefill logits then two greedy decode steps, concatenated.
std::vector<float> logits_of(const WeightSource& src, OutputType out = OutputType::kAsStored) {
  ThreadPool pool(1);
  Transformer tf(src, *resolve_kernels("i2s").front(), pool, {.context = 32, .output = out});
  const std::vector<std::int32_t> prompt = {1, 17, 300, 5, 999, 42, 7};
  const auto V = static_cast<std::size_t>(src.config().vocab);
  std::vector<float> all(V * 3);
  tf.prefill(prompt, 0, all.data());
  for (int s = 1; s < 3; ++s) {
    const float* prev = all.data() + (s - 1) * V;
    const auto next = static_cast<std::int32_t>(std::max_element(prev, prev + V) - prev);
    tf.decode(next, all.data() + s * V);
  }
  return all;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * 4) == 0;
}

ModelConfig llama_style(ModelConfig c) {  // Llama3 / Falcon3 1.58-bit: no sub-norms, untied
  c.name = "tiny-llama";
  c.arch = "bitnet";
  c.act = Activation::kSilu;
  c.sub_norms = false;
  c.tied = false;
  return c;
}

void check_checkpoint(const ModelConfig& cfg, const HfLayout& lay, std::uint64_t seed) {
  SCOPED_TRACE("preset " + cfg.name + ", seed " + std::to_string(seed) + ", style " +
               std::to_string(static_cast<int>(lay.style)) + (lay.sharded ? ", sharded" : ""));
  TempDir tmp;
  const Canonical m = make_canonical(cfg, seed);
  for (const auto& [n, w] : m.master) {  // precondition: the master weights quantize back exactly
    const TernaryMatrix q =
        reference::quantize_weights_absmean(w.data(), m.ternary.at(n).M, m.ternary.at(n).K);
    ASSERT_EQ(q.w, m.ternary.at(n).w) << n;
    ASSERT_EQ(q.scale, m.ternary.at(n).scale) << n;
  }
  const std::string dir = tmp.dir("hf");
  write_hf(m, dir, lay);
  const HfSource hf(dir);
  EXPECT_EQ(hf.config().arch, cfg.arch);
  EXPECT_EQ(hf.config().act, cfg.act);
  EXPECT_EQ(hf.config().tied, cfg.tied);
  EXPECT_EQ(hf.config().sub_norms, cfg.sub_norms);
  EXPECT_EQ(hf.config().kv_heads, cfg.kv_heads);
  EXPECT_EQ(hf.config().context, 512);
  EXPECT_EQ(hf.shards(), lay.sharded ? 2u : 1u);
  for (const auto& [n, t] : m.ternary) {  // both styles give the canonical tensor and scale
    const TernaryMatrix got = hf.ternary(n);
    ASSERT_EQ(got.w, t.w) << n;
    ASSERT_EQ(got.scale, t.scale) << n;
  }
  ASSERT_TRUE(hf.tokenizer());
  EXPECT_EQ(hf.tokenizer()->tokens, m.vocab.tokens);
  EXPECT_EQ(hf.tokenizer()->types, m.vocab.types);
  EXPECT_EQ(hf.tokenizer()->merges, m.vocab.merges);
  EXPECT_EQ(hf.tokenizer()->bos, m.vocab.bos);
  EXPECT_EQ(hf.tokenizer()->eos, m.vocab.eos);
  EXPECT_EQ(hf.tokenizer()->add_bos, m.vocab.add_bos);
  EXPECT_EQ(hf.tokenizer()->chat_template, m.vocab.chat_template);
  EXPECT_EQ(hf.tokenizer()->pre, "llama-bpe");

  const MemorySource direct(m);
  const auto want = logits_of(direct);
  // HF folder -> GGUF -> GgufSource: the same logits as the canonical tensors, bit for bit.
  const std::string gguf = tmp.path("out.gguf");
  write_bitnet_gguf(hf, gguf, {});
  const GgufSource back(gguf);
  EXPECT_EQ(back.config().sub_norms, cfg.sub_norms);
  EXPECT_EQ(back.config().tied, cfg.tied);
  EXPECT_TRUE(same_bits(logits_of(back), want));
  EXPECT_EQ(back.tokenizer()->tokens, m.vocab.tokens);
  EXPECT_EQ(back.tokenizer()->merges, m.vocab.merges);
  // The HF folder read directly (BF16 output matrix: compared in F32, where values agree).
  EXPECT_TRUE(same_bits(logits_of(hf, OutputType::kF32), logits_of(direct, OutputType::kF32)));
}

TEST(HfCheckpoint, MasterWeightsConvertToTheSameLogits) {
  check_checkpoint(*find_preset("tiny"), {Style::kMaster}, 1);
}
TEST(HfCheckpoint, PackedBitLinearDividesByWeightScale) {
  check_checkpoint(*find_preset("tiny"), {Style::kPackedDivide, true}, 2);
}
TEST(HfCheckpoint, PackedAutoBitLinearMultipliesByWeightScale) {
  check_checkpoint(*find_preset("tiny"), {Style::kPackedMultiply, false, false, true}, 3);
}
TEST(HfCheckpoint, OneBitLlmSiluUntiedWithItsSubNormNames) {
  check_checkpoint(*find_preset("tiny-silu"), {Style::kMaster, false, true}, 4);
}
TEST(HfCheckpoint, TernaryLlamaWithoutSubNorms) {
  check_checkpoint(llama_style(*find_preset("tiny-silu")), {Style::kPackedDivide, true}, 5);
}

// A model without sub-norms runs the same graph in the fast and the reference forward pass.
TEST(HfCheckpoint, NoSubNormGraphMatchesTheReference) {
  const ModelConfig cfg = llama_style(*find_preset("tiny"));
  const SyntheticSource src(cfg, 3);
  for (const auto& n : src.tensor_names()) EXPECT_EQ(n.find("sub_norm"), std::string::npos) << n;
  const auto rep = check::check_e2e(src, check::default_prompt(cfg.vocab, 8), 12,
                                    {resolve_kernels("i2s").front()}, {1});
  EXPECT_TRUE(rep.pass) << rep.to_json().dump();
}

// write_bitnet_gguf of a SyntheticSource is byte for byte the `synth` file: the same layout.
TEST(HfCheckpoint, ExportWritesTheSynthLayout) {
  TempDir tmp;
  for (const char* preset : {"tiny", "tiny-silu"}) {
    SyntheticSource src(*find_preset(preset), 8);
    src.set_tokenizer(synthetic_gpt2_vocab(src.config().vocab));
    for (DType out : {DType::kF16, DType::kQ8_0}) {
      SynthOptions opt;
      opt.name = "same";
      opt.output_type = out;
      opt.threads = 2;
      write_synthetic_gguf(src, tmp.path("a.gguf"), opt);
      write_bitnet_gguf(src, tmp.path("b.gguf"), opt);
      EXPECT_EQ(read_text(tmp.path("a.gguf")), read_text(tmp.path("b.gguf"))) << preset;
    }
  }
}

// ------------------------------------------------------------------------------------------------
// Bad checkpoints: each a clear error naming the file and the field, and convert leaves nothing.

struct BadCase {
  const char* what;
  std::function<void(const std::string& dir, json& cfg)> edit;
  std::vector<std::string> fragments;
};

TEST(HfCheckpoint, BadInputIsRefusedByName) {
  TempDir tmp;
  const Canonical m = make_canonical(*find_preset("tiny"), 9);
  auto rewrite_tensors = [&](const std::string& dir,
                             const std::function<void(std::vector<StWriteTensor>&)>& f) {
    const auto file = SafetensorsFile::open(dir + "/model.safetensors");
    std::vector<StWriteTensor> ts;
    for (const auto& t : file->tensors())
      ts.push_back(
          {t.name, t.dtype, t.shape, std::vector<std::uint8_t>(t.data, t.data + t.bytes())});
    f(ts);
    write_safetensors(dir + "/model.safetensors", ts);
  };
  auto find = [](std::vector<StWriteTensor>& ts, const std::string& name) -> StWriteTensor& {
    for (auto& t : ts)
      if (t.name == name) return t;
    throw std::logic_error("no " + name);
  };
  const std::vector<BadCase> cases = {
      {"missing field",
       [](const std::string&, json& c) { c.erase("hidden_size"); },
       {"config.json", "field 'hidden_size' is missing"}},
      {"zero field",
       [](const std::string&, json& c) { c["num_hidden_layers"] = 0; },
       {"config.json", "field 'num_hidden_layers' is 0"}},
      {"string field",
       [](const std::string&, json& c) { c["vocab_size"] = "2048"; },
       {"config.json", "field 'vocab_size' is \"2048\""}},
      {"heads",
       [](const std::string&, json& c) { c["num_attention_heads"] = 3; },
       {"config.json", "'hidden_size' (256) is not a multiple of 'num_attention_heads' (3)"}},
      {"kv heads",
       [](const std::string&, json& c) { c["num_key_value_heads"] = 3; },
       {"config.json", "'num_attention_heads' (4) is not a multiple of 'num_key_value_heads' (3)"}},
      {"head_dim",
       [](const std::string&, json& c) { c["head_dim"] = 128; },
       {"config.json", "field 'head_dim' is 128, expected"}},
      {"eps",
       [](const std::string&, json& c) { c.erase("rms_norm_eps"); },
       {"config.json", "field 'rms_norm_eps' is missing"}},
      {"architecture",
       [](const std::string&, json& c) { c["architectures"] = {"MistralForCausalLM"}; },
       {"config.json", "'MistralForCausalLM', which tritbench does not run"}},
      {"llama without bitnet",
       [](const std::string&, json& c) {
         c["architectures"] = {"LlamaForCausalLM"};
         c.erase("quantization_config");
       },
       {"config.json", "without quantization_config.quant_method 'bitnet'"}},
      {"activation",
       [](const std::string&, json& c) { c["hidden_act"] = "gelu"; },
       {"config.json", "field 'hidden_act' is 'gelu', expected 'relu2' or 'silu'"}},
      {"rope scaling",
       [](const std::string&, json& c) {
         c["rope_scaling"] = {{"rope_type", "llama3"}};
       },
       {"config.json", "field 'rope_scaling'"}},
      {"linear class",
       [](const std::string&, json& c) { c["quantization_config"]["linear_class"] = "x"; },
       {"config.json", "quantization_config.linear_class' is 'x'"}},
      {"untied without lm_head",
       [](const std::string&, json& c) { c["tie_word_embeddings"] = false; },
       {"config.json", "'tie_word_embeddings' is false but the checkpoint has no lm_head.weight"}},
      {"bad json",
       [](const std::string& d, json&) { write_text(d + "/config.json", "{"); },
       {"config.json: not a valid JSON object"}},
      {"wrong shape",
       [&](const std::string& d, json&) {
         rewrite_tensors(d, [&](auto& ts) {
           find(ts, "model.layers.1.self_attn.k_proj.weight").shape = {256, 128};
         });
       },
       {"model.safetensors: tensor 'model.layers.1.self_attn.k_proj.weight' (BF16 [256, 128])",
        "expected shape [128, 256]"}},
      {"wrong dtype",
       [&](const std::string& d, json&) {
         rewrite_tensors(d, [&](auto& ts) {
           auto& t = find(ts, "model.layers.0.mlp.down_proj.weight");
           t.dtype = StDType::kI16;
         });
       },
       {"tensor 'model.layers.0.mlp.down_proj.weight' (I16", "is not a BitLinear weight layout"}},
      {"norm dtype",
       [&](const std::string& d, json&) {
         rewrite_tensors(d, [&](auto& ts) {
           auto& t = find(ts, "model.norm.weight");
           t.dtype = StDType::kI8;
           t.shape = {512};
         });
       },
       {"tensor 'model.norm.weight' (I8 [512])", "expected BF16, F16 or F32"}},
      {"missing tensor",
       [&](const std::string& d, json&) {
         rewrite_tensors(d, [&](auto& ts) {
           std::erase_if(ts, [](const auto& t) {
             return t.name == "model.layers.1.mlp.ffn_sub_norm.weight";
           });
         });
       },
       {"tensor 'model.layers.1.mlp.ffn_sub_norm.weight' is missing"}},
      {"unknown tensor",
       [&](const std::string& d, json&) {
         rewrite_tensors(d, [&](auto& ts) {
           ts.push_back(
               {"model.layers.0.self_attn.q_proj.bias", StDType::kF32, {1}, bytes_of({0})});
         });
       },
       {"tensor 'model.layers.0.self_attn.q_proj.bias' is not part of a bitnet-b1.58 model"}},
      {"extra layer",
       [&](const std::string& d, json&) {
         rewrite_tensors(d, [&](auto& ts) {
           ts.push_back(
               {"model.layers.2.input_layernorm.weight", StDType::kF32, {1}, bytes_of({0})});
         });
       },
       {"is in layer 2, but config.json's num_hidden_layers is 2"}},
      {"nan norm",
       [&](const std::string& d, json&) {
         rewrite_tensors(d, [&](auto& ts) {
           auto& t = find(ts, "model.layers.0.input_layernorm.weight");
           const std::uint16_t nan = 0x7fc0;
           std::memcpy(t.data.data() + 6, &nan, 2);
         });
       },
       {"tensor 'model.layers.0.input_layernorm.weight'", "element 3 is nan"}},
      {"truncated safetensors",
       [&](const std::string& d, json&) {
         const std::string bytes = read_text(d + "/model.safetensors");
         write_text(d + "/model.safetensors", bytes.substr(0, 100));
       },
       {"model.safetensors: header: length field is", "truncated"}},
      {"tokenizer without merges",
       [&](const std::string& d, json&) {
         json t = json::parse(read_text(d + "/tokenizer.json"));
         t["model"].erase("merges");
         write_text(d + "/tokenizer.json", t.dump());
       },
       {"tokenizer.json: model.merges is missing or empty"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    const std::string dir = tmp.dir(std::string("bad_") + c.what);
    write_hf(m, dir, {Style::kMaster});
    json cfg = json::parse(read_text(dir + "/config.json"));
    c.edit(dir, cfg);
    if (std::string(c.what) != "bad json" && cfg != json::parse(read_text(dir + "/config.json")))
      write_text(dir + "/config.json", cfg.dump());
    const std::string out = tmp.path(std::string("bad_") + c.what + ".gguf");
    try {
      const HfSource src(dir);
      write_bitnet_gguf(src, out, {});
      ADD_FAILURE() << "no error; expected '" << c.fragments.front() << "'";
    } catch (const std::exception& e) {
      const std::string msg = e.what();
      for (const auto& f : c.fragments)
        EXPECT_NE(msg.find(f), std::string::npos) << "'" << f << "' not in: " << msg;
    }
    EXPECT_FALSE(fs::exists(out));
  }
}

// Errors found only while writing (a code 3 in a packed weight) leave no file either.
TEST(HfCheckpoint, ConvertFailingMidwayLeavesNothing) {
  TempDir tmp;
  const Canonical m = make_canonical(*find_preset("tiny"), 10);
  const std::string dir = tmp.dir("hf");
  write_hf(m, dir, {Style::kPackedDivide});
  const auto file = SafetensorsFile::open(dir + "/model.safetensors");
  std::vector<StWriteTensor> ts;
  for (const auto& t : file->tensors()) {
    ts.push_back({t.name, t.dtype, t.shape, std::vector<std::uint8_t>(t.data, t.data + t.bytes())});
    if (t.name == "model.layers.1.mlp.down_proj.weight") ts.back().data[77] = 0xff;
  }
  write_safetensors(dir + "/model.safetensors", ts);
  const HfSource src(dir);  // opening does not read every weight
  const std::string out = tmp.path("m.gguf");
  write_text(out, "previous");
  expect_error<HfError>([&] { write_bitnet_gguf(src, out, {}); },
                        {"model.layers.1.mlp.down_proj.weight", "row 0, column 77", "code 3"});
  EXPECT_EQ(read_text(out), "previous");
  EXPECT_EQ(std::distance(fs::directory_iterator(tmp.path("")), fs::directory_iterator{}), 2);
}

// ------------------------------------------------------------------------------------------------
// Tokenizers

TEST(HfTokenizer, BadTokenizersAreRefusedByField) {
  TempDir tmp;
  const TokenizerSpec v = synthetic_gpt2_vocab(600);
  const std::string dir = tmp.dir("t");
  write_hf_tokenizer(v, dir, false);
  const json base = json::parse(read_text(dir + "/tokenizer.json"));
  const std::string cfg = read_text(dir + "/tokenizer_config.json");
  auto parse = [&](const json& j, const std::string& c = "") {
    return parse_hf_tokenizer(j.dump(), c.empty() ? cfg : c, "", 600, "x/tokenizer.json");
  };
  EXPECT_EQ(parse(base).tokens, v.tokens);
  auto expect = [&](const std::function<void(json&)>& edit, const std::vector<std::string>& frags) {
    json j = base;
    edit(j);
    expect_error<HfError>([&] { parse(j); }, frags);
  };
  expect([](json& j) { j["model"]["merges"] = json::array(); },
         {"x/tokenizer.json: model.merges is missing or empty"});
  expect([](json& j) { j["model"]["type"] = "Unigram"; },
         {"model.type is 'Unigram', expected 'BPE'"});
  expect([](json& j) { j["model"]["merges"][3] = "nosuchtoken x"; },
         {"model.merges[3]", "'nosuchtoken' is not in the vocabulary"});
  expect([](json& j) { j["model"]["merges"][0] = "a  b"; },
         {"model.merges[0]", "not two tokens separated by one space"});
  expect([](json& j) { j["model"]["vocab"].erase("h"); }, {"no token has id"});
  expect([](json& j) { j["model"]["vocab"]["zz-dup"] = 5; },
         {"model.vocab: id 5 is given to both"});
  expect([](json& j) { j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "\\s+"; },
         {"pre_tokenizer: Split regex '\\s+' is not LLaMA-3's"});
  expect(
      [](json& j) {
        j["pre_tokenizer"] = {{"type", "Whitespace"}};
      },
      {"pre_tokenizer 'Whitespace' is not supported"});
  expect([](json& j) { j["normalizer"] = {{"type", "NFC"}}; }, {"normalizer 'NFC' is not applied"});
  expect([](json& j) { j["added_tokens"][0]["id"] = 5; },
         {"added_tokens[0]: id 5", "but model.vocab gives that id"});
  expect_error<HfError>([&] { parse_hf_tokenizer(base.dump(), cfg, "", 500, "x/tokenizer.json"); },
                        {"more than config.json's vocab_size 500"});
  expect_error<HfError>(
      [&] { parse(base, R"({"bos_token": "<nope>"})"); },
      {"x/tokenizer_config.json: field 'bos_token' is '<nope>', which is not a token"});
  // A smaller tokenizer is padded to the model's vocabulary with unused tokens.
  const TokenizerSpec padded = parse_hf_tokenizer(base.dump(), cfg, "", 610, "x/tokenizer.json");
  ASSERT_EQ(padded.tokens.size(), 610u);
  EXPECT_EQ(padded.tokens[605], "[PAD605]");
  EXPECT_EQ(padded.types[605], TokenType::kUnused);
  // Merges as [a, b] pairs read the same as "a b" strings.
  write_hf_tokenizer(v, dir, true);
  EXPECT_EQ(parse(json::parse(read_text(dir + "/tokenizer.json"))).merges, v.merges);
}

// A SentencePiece-style tokenizer.json (byte_fallback, "▁") becomes a "llama" vocabulary that
// encodes exactly like the SentencePiece vocabulary it was made from.
TEST(HfTokenizer, SentencePieceStyleEncodesAsTheOriginal) {
  const TokenizerSpec v = synthetic_llama_vocab(1024);
  json vocab = json::object(), merges = json::array(), added = json::array();
  std::map<std::string, int> id;
  for (std::size_t i = 0; i < v.tokens.size(); ++i) {
    vocab[v.tokens[i]] = i;
    id[v.tokens[i]] = static_cast<int>(i);
  }
  for (int i : {0, 1, 2}) added.push_back({{"id", i}, {"content", v.tokens[i]}, {"special", true}});
  // Merges in score order (highest first): any split of a merged piece into two tokens.
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < v.tokens.size(); ++i)
    if (v.types[i] == TokenType::kNormal && v.tokens[i].size() > 1 &&
        utf8_sequence_length(v.tokens[i], 0) != static_cast<int>(v.tokens[i].size()))
      order.push_back(i);
  std::stable_sort(order.begin(), order.end(),
                   [&](auto a, auto b) { return v.scores[a] > v.scores[b]; });
  for (auto i : order) {
    const std::string& t = v.tokens[i];
    bool found = false;
    for (std::size_t cut = 1; cut < t.size() && !found; ++cut)
      if (utf8_sequence_length(t, cut) > 0 && id.count(t.substr(0, cut)) &&
          id.count(t.substr(cut))) {
        merges.push_back(t.substr(0, cut) + " " + t.substr(cut));
        found = true;
      }
    ASSERT_TRUE(found) << t;
  }
  ASSERT_GT(merges.size(), 50u);
  const json j = {
      {"added_tokens", added},
      {"normalizer",
       {{"type", "Sequence"},
        {"normalizers",
         {{{"type", "Prepend"}, {"prepend", "\xE2\x96\x81"}},
          {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "\xE2\x96\x81"}}}}}},
      {"pre_tokenizer", nullptr},
      {"model",
       {{"type", "BPE"},
        {"unk_token", "<unk>"},
        {"byte_fallback", true},
        {"fuse_unk", true},
        {"vocab", vocab},
        {"merges", merges}}}};
  const TokenizerSpec got = parse_hf_tokenizer(
      j.dump(), R"({"bos_token": "<s>", "eos_token": "</s>", "add_bos_token": true})", "", 1024,
      "spm/tokenizer.json");
  EXPECT_EQ(got.model, "llama");
  EXPECT_EQ(got.unk, 0);
  EXPECT_EQ(got.bos, 1);
  EXPECT_EQ(got.eos, 2);
  EXPECT_TRUE(got.add_bos);
  EXPECT_EQ(got.types[0], TokenType::kUnknown);
  EXPECT_EQ(got.types[3 + 0x41], TokenType::kByte);
  const Tokenizer a(v), b(got);
  for (const char* text :
       {"The quick brown fox jumps over the lazy dog.", "  two  spaces and\ttabs\n",
        "def f(x):\n    return x * 2  # code", "Zürich, 東京, emoji \xF0\x9F\x98\x80!",
        "numbers 1234567 and symbols <>[]{}"}) {
    EXPECT_EQ(a.encode(text), b.encode(text)) << text;
    EXPECT_EQ(b.decode(b.encode(text)), a.decode(a.encode(text))) << text;
  }
}

// ------------------------------------------------------------------------------------------------
// The CLI

struct CliRun {
  int rc = -1;
  std::string out, err;
};

CliRun cli(const TempDir& tmp, const std::string& args, const std::string& stdin_text = "") {
  const std::string in = tmp.path("stdin.txt"), out = tmp.path("stdout.txt"),
                    err = tmp.path("stderr.txt");
  write_text(in, stdin_text);
  const std::string cmd =
      std::string(TRITBENCH_CLI) + " " + args + " < " + in + " > " + out + " 2> " + err;
  const int status = std::system(cmd.c_str());
  CliRun r;
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = read_text(out);
  r.err = read_text(err);
  return r;
}

std::vector<std::int32_t> ids_line(const std::string& err, std::size_t which = 0) {
  std::vector<std::int32_t> ids;
  std::size_t at = 0;
  for (std::size_t i = 0; i <= which; ++i) {
    at = err.find("ids:", i == 0 ? 0 : at + 1);
    if (at == std::string::npos) return ids;
  }
  std::istringstream ss(err.substr(at + 4, err.find('\n', at) - at - 4));
  for (std::int32_t x; ss >> x;) ids.push_back(x);
  return ids;
}

TEST(GenerateCli, SynthModelGivesTheRightTokensAndTheSameTextForTheSameSeed) {
  TempDir tmp;
  const std::string model = tmp.path("tiny.gguf");
  ASSERT_EQ(cli(tmp, "synth --preset tiny -q -o " + model).rc, 0);
  const std::string args =
      "generate -m " + model + " -p 'Once upon a time' -n 24 --ignore-eos --ids --seed 5";
  const CliRun a = cli(tmp, args + " -t 1"), b = cli(tmp, args + " -t 2 -k i2s__scalar"),
               c = cli(tmp, args + " -t 1 --seed 6");
  ASSERT_EQ(a.rc, 0) << a.err;
  ASSERT_EQ(b.rc, 0) << b.err;
  ASSERT_EQ(c.rc, 0) << c.err;
  // Same seed: the same text, whatever the kernel and thread count (bit-identical logits).
  EXPECT_EQ(a.out, b.out);
  EXPECT_NE(a.out, c.out);
  const auto ids = ids_line(a.err);
  ASSERT_EQ(ids.size(), 24u) << a.err;
  EXPECT_NE(ids, ids_line(c.err));
  // stdout is the prompt, then exactly the decoded tokens (streamed), then a newline.
  const GgufSource src(model);
  const Tokenizer tok(*src.tokenizer());
  EXPECT_EQ(a.out, "Once upon a time" + tok.decode(ids) + "\n");
  EXPECT_NE(a.err.find("generation: 24 tokens"), std::string::npos) << a.err;
  EXPECT_NE(a.err.find("tokens/s"), std::string::npos) << a.err;
  // Greedy is deterministic without a seed, and the prompt token count is reported.
  const CliRun g =
      cli(tmp, "generate -m " + model +
                   " -p 'Once upon a time' -n 8 --temp 0 --ignore-eos --no-echo --ids");
  ASSERT_EQ(g.rc, 0) << g.err;
  EXPECT_EQ(g.out, tok.decode(ids_line(g.err)) + "\n");
  EXPECT_NE(
      g.err.find("prompt: " + std::to_string(tok.encode("Once upon a time").size()) + " tokens"),
      std::string::npos)
      << g.err;
}

// Non-finite values in a dense matrix are not scanned at open (models/gguf_source.h); they follow
// IEEE arithmetic (an infinite row normalizes to NaN) and the sampler refuses NaN logits by name:
// a clear error and exit status 2, greedy or sampled, never a crash or garbage text.
TEST(GenerateCli, NonFiniteEmbeddingGivesANamedErrorNotGarbage) {
  TempDir tmp;
  const std::string model = tmp.path("inf.gguf");
  ASSERT_EQ(cli(tmp, "synth --preset tiny -q -o " + model).rc, 0);
  std::uint64_t at = 0, count = 0;
  DType type = DType::kF32;
  {
    const auto f = GgufFile::open(model);
    const GgufTensorInfo* t = f->tensor("token_embd.weight");
    ASSERT_NE(t, nullptr);
    at = f->data_offset() + t->offset;
    count = static_cast<std::uint64_t>(t->elements());
    type = t->type;
  }
  std::vector<std::uint8_t> inf;  // one element of +infinity in the tensor's type
  if (type == DType::kF32) {
    inf = {0x00, 0x00, 0x80, 0x7f};
  } else if (type == DType::kF16) {
    inf = {0x00, 0x7c};
  } else if (type == DType::kBF16) {
    inf = {0x80, 0x7f};
  } else {
    GTEST_SKIP() << "token_embd.weight of the tiny preset is not a float type";
  }
  {
    std::fstream f(model, std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(static_cast<std::streamoff>(at));
    for (std::uint64_t i = 0; i < count; ++i)
      f.write(reinterpret_cast<const char*>(inf.data()), static_cast<std::streamsize>(inf.size()));
    ASSERT_TRUE(f.good());
  }
  for (const char* sampling : {"--temp 0", "--seed 3"}) {
    const CliRun r = cli(tmp, "generate -m " + model + " -p 'hello' -n 4 --ignore-eos " + sampling);
    EXPECT_EQ(r.rc, 2) << sampling << "\n" << r.err;
    EXPECT_NE(r.err.find("is NaN (the model produced invalid numbers)"), std::string::npos)
        << r.err;
  }
}

TEST(GenerateCli, ChatKeepsTheConversationAndBadInputIsRefused) {
  TempDir tmp;
  const std::string model = tmp.path("tiny.gguf");
  ASSERT_EQ(cli(tmp, "synth --preset tiny -q -o " + model).rc, 0);
  const std::string chat =
      "generate -m " + model + " --chat --system 'Be brief.' -n 6 --ignore-eos --ids";
  const CliRun a = cli(tmp, chat, "hello there\n\nhow are you\n"),
               b = cli(tmp, chat, "hello there\n\nhow are you\n");
  ASSERT_EQ(a.rc, 0) << a.err;
  EXPECT_EQ(a.out, b.out);
  EXPECT_EQ(ids_line(a.err, 0).size(), 6u) << a.err;
  EXPECT_EQ(ids_line(a.err, 1).size(), 6u) << a.err;
  EXPECT_TRUE(ids_line(a.err, 2).empty()) << a.err;  // the blank line is skipped
  EXPECT_NE(a.err.find("generation: 12 tokens"), std::string::npos) << a.err;
  // The second turn continues the cache: its prompt is the closing <|eot_id|> and the new turn
  // only, so the prompt total is the first rendering + 1 + the second turn's rendering.
  const GgufSource src(model);
  const Tokenizer tok(*src.tokenizer());
  const std::vector<ChatMessage> first = {{"system", "Be brief."}, {"user", "hello there"}};
  const ChatMessage second{"user", "how are you"};
  std::string next = tok.apply_chat_template(std::span(&second, 1), true);
  const std::string bos = src.tokenizer()->tokens[static_cast<std::size_t>(tok.bos())];
  if (next.rfind(bos, 0) == 0) next.erase(0, bos.size());  // a later turn has no bos
  const std::size_t want = tok.encode_chat(first, true).size() + 1 + tok.encode(next, false).size();
  EXPECT_NE(a.err.find("prompt: " + std::to_string(want) + " tokens"), std::string::npos) << a.err;

  // A prompt longer than the context: refused before the model is loaded.
  const CliRun r =
      cli(tmp, "generate -m " + model + " -c 4 -p 'this prompt is longer than four tokens'");
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("more than the context of 4 positions"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("loaded in"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty());
  const CliRun rc = cli(tmp, "generate -m " + model + " -c 8 --chat",
                        "this turn is much longer than eight tokens\n");
  EXPECT_EQ(rc.rc, 2);
  EXPECT_NE(rc.err.find("the first turn is"), std::string::npos) << rc.err;
  // Usage errors.
  EXPECT_EQ(cli(tmp, "generate -p x").rc, 2);
  EXPECT_EQ(cli(tmp, "generate -m " + model).rc, 2);
  EXPECT_EQ(cli(tmp, "generate -m " + model + " -p x --top-p 0").rc, 2);
  const CliRun nf = cli(tmp, "generate -m " + tmp.path("nope.gguf") + " -p x");
  EXPECT_EQ(nf.rc, 2);
  EXPECT_NE(nf.err.find("no such file or directory"), std::string::npos) << nf.err;
  const CliRun h = cli(tmp, "generate --help");
  EXPECT_EQ(h.rc, 0);
  EXPECT_NE(h.out.find("examples:"), std::string::npos);
}

TEST(ConvertCli, ConvertsAFolderAndRefusesABadOne) {
  TempDir tmp;
  const Canonical m = make_canonical(*find_preset("tiny"), 11);
  const std::string dir = tmp.dir("hf");
  write_hf(m, dir, {Style::kPackedMultiply, true});
  const std::string out = tmp.path("m.gguf");
  const CliRun r = cli(tmp, "convert " + dir + " -o " + out);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("2 shards"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("packed uint8 + weight_scale -> I2_S"), std::string::npos) << r.out;
  EXPECT_TRUE(same_bits(logits_of(GgufSource(out)), logits_of(MemorySource(m))));
  const CliRun g = cli(tmp, "generate -m " + out + " -p hi -n 5 --ignore-eos --ids");
  EXPECT_EQ(g.rc, 0) << g.err;
  EXPECT_EQ(ids_line(g.err).size(), 5u);
  // The HF folder runs directly too.
  EXPECT_EQ(cli(tmp, "generate -m " + dir + " -p hi -n 5 --ignore-eos").rc, 0);

  json cfg = json::parse(read_text(dir + "/config.json"));
  cfg.erase("intermediate_size");
  write_text(dir + "/config.json", cfg.dump());
  const std::string out2 = tmp.path("bad.gguf");
  const CliRun bad = cli(tmp, "convert " + dir + " -o " + out2);
  EXPECT_EQ(bad.rc, 2);
  EXPECT_NE(bad.err.find("config.json: field 'intermediate_size' is missing"), std::string::npos)
      << bad.err;
  EXPECT_FALSE(fs::exists(out2));
  EXPECT_EQ(cli(tmp, "convert -o " + out2).rc, 2);
}

}  // namespace
}  // namespace tritbench::models
