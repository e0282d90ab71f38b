// GGUF: the reader and writer round trip, bitnet.cpp's official 2B-4T layout through GgufSource,
// and the bad-input matrix (every section truncated, absurd counts, overflowing sizes, data outside
// the file, duplicates, wrong alignment, unknown types, wrong shapes, missing keys, code 3, NaN
// scales, random corruption): each a GgufError naming the file and the field, never a crash.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include "kernels/i2s/i2s.h"
#include "models/f16.h"
#include "models/gguf.h"
#include "models/gguf_source.h"
#include "models/synth.h"
#include "models/vocab_synthetic.h"
#include "reference/quantize.h"
#include "reference/rng.h"
#include "tests/test_util.h"

namespace tritbench::models {
namespace {

using test::TempDir;

namespace fs = std::filesystem;

std::vector<std::uint8_t> read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<std::uint8_t>(std::istreambuf_iterator<char>(f), {});
}

// Expects parsing `bytes` to fail with a GgufError that starts with the file name and contains
// every fragment.
void expect_parse_error(const std::vector<std::uint8_t>& bytes,
                        const std::vector<std::string>& fragments) {
  try {
    GgufFile::parse(bytes, "bad.gguf");
    ADD_FAILURE() << "no error; expected one mentioning '" << fragments.front() << "'";
  } catch (const GgufError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind("bad.gguf: ", 0), 0u) << msg;
    for (const auto& f : fragments)
      EXPECT_NE(msg.find(f), std::string::npos) << "'" << f << "' not in: " << msg;
  }
}

// Writes GGUF bytes by hand, independently of GgufWriter, so malformed files can be made.
struct Raw {
  std::vector<std::uint8_t> b;
  Raw& u32(std::uint32_t v) { return put(&v, 4); }
  Raw& u64(std::uint64_t v) { return put(&v, 8); }
  Raw& str(const std::string& s) {
    u64(s.size());
    return put(s.data(), s.size());
  }
  Raw& put(const void* p, std::size_t n) {
    const auto* q = static_cast<const std::uint8_t*>(p);
    b.insert(b.end(), q, q + n);
    return *this;
  }
  Raw& header(std::uint64_t n_tensors, std::uint64_t n_kv, std::uint32_t version = 3) {
    put("GGUF", 4);
    u32(version);
    u64(n_tensors);
    return u64(n_kv);
  }
  Raw& kv_u32(const std::string& k, std::uint32_t v) {
    str(k);
    u32(4);
    return u32(v);
  }
  Raw& kv_str(const std::string& k, const std::string& v) {
    str(k);
    u32(8);
    return str(v);
  }
  Raw& tensor(const std::string& name, std::vector<std::uint64_t> dims, std::uint32_t type,
              std::uint64_t offset) {
    str(name);
    u32(static_cast<std::uint32_t>(dims.size()));
    for (auto d : dims) u64(d);
    u32(type);
    return u64(offset);
  }
  Raw& pad(std::size_t a = 32) {
    while (b.size() % a) b.push_back(0);
    return *this;
  }
  Raw& zeros(std::size_t n) {
    b.insert(b.end(), n, 0);
    return *this;
  }
};

// One KV, one F32 tensor of 8 floats: the smallest interesting valid file.
std::vector<std::uint8_t> small_valid() {
  Raw r;
  r.header(1, 1).kv_str("general.architecture", "test").tensor("t", {8}, 0, 0).pad().zeros(32);
  return r.b;
}

// ------------------------------------------------------------------------------------------------
// Round trip

TEST(Gguf, RoundTripEveryKvTypeAndTensorType) {
  TempDir tmp;
  GgufWriter w;
  std::vector<std::pair<std::string, GgufValue>> kvs = {
      {"t.u8", GgufValue::u8(250)},
      {"t.i8", GgufValue::i8(-100)},
      {"t.u16", GgufValue::u16(65000)},
      {"t.i16", GgufValue::i16(-32000)},
      {"t.u32", GgufValue::u32(4000000000u)},
      {"t.i32", GgufValue::i32(-2000000000)},
      {"t.f32", GgufValue::f32(-1.5e-7f)},
      {"t.bool_true", GgufValue::boolean(true)},
      {"t.bool_false", GgufValue::boolean(false)},
      {"t.string", GgufValue::string(std::string("h\xc3\xa9llo\0world", 12))},
      {"t.empty_string", GgufValue::string("")},
      {"t.u64", GgufValue::u64(18000000000000000000ull)},
      {"t.i64", GgufValue::i64(-9000000000000000000ll)},
      {"t.f64", GgufValue::f64(3.141592653589793)},
      // bitnet.cpp's I2_S file type: tensor ids 36..39 are read with bitnet.cpp's meaning.
      {"general.file_type", GgufValue::u32(40)},
  };
  const std::uint8_t u8s[] = {0, 1, 255};
  const std::int8_t i8s[] = {-128, 0, 127};
  const std::uint16_t u16s[] = {0, 65535};
  const std::int16_t i16s[] = {-32768, 32767};
  const std::uint32_t u32s[] = {0, 4294967295u, 7};
  const std::int32_t i32s[] = {-2147483647 - 1, 2147483647};
  const float f32s[] = {0.5f, -0.0f, std::numeric_limits<float>::infinity()};
  const std::uint8_t bools[] = {1, 0, 1};
  const std::uint64_t u64s[] = {~0ull, 1};
  const std::int64_t i64s[] = {std::numeric_limits<std::int64_t>::min(), 5};
  const double f64s[] = {1e300, -2.5};
  kvs.push_back({"a.u8", GgufValue::array_of<std::uint8_t>(GgufType::kUint8, u8s)});
  kvs.push_back({"a.i8", GgufValue::array_of<std::int8_t>(GgufType::kInt8, i8s)});
  kvs.push_back({"a.u16", GgufValue::array_of<std::uint16_t>(GgufType::kUint16, u16s)});
  kvs.push_back({"a.i16", GgufValue::array_of<std::int16_t>(GgufType::kInt16, i16s)});
  kvs.push_back({"a.u32", GgufValue::array_of<std::uint32_t>(GgufType::kUint32, u32s)});
  kvs.push_back({"a.i32", GgufValue::array_of<std::int32_t>(GgufType::kInt32, i32s)});
  kvs.push_back({"a.f32", GgufValue::array_of<float>(GgufType::kFloat32, f32s)});
  kvs.push_back({"a.bool", GgufValue::array_of<std::uint8_t>(GgufType::kBool, bools)});
  kvs.push_back({"a.u64", GgufValue::array_of<std::uint64_t>(GgufType::kUint64, u64s)});
  kvs.push_back({"a.i64", GgufValue::array_of<std::int64_t>(GgufType::kInt64, i64s)});
  kvs.push_back({"a.f64", GgufValue::array_of<double>(GgufType::kFloat64, f64s)});
  kvs.push_back(
      {"a.strings", GgufValue::array_strings({"one", "", "thr\xc3\xa9\xc3\xa9", "Ġthe"})});
  kvs.push_back({"a.empty", GgufValue::array_of<std::uint32_t>(GgufType::kUint32, {})});
  kvs.push_back({"a.empty_strings", GgufValue::array_strings({})});
  for (const auto& [k, v] : kvs) w.add_kv(k, v);

  // Tensors of every storable type, with odd sizes so padding matters.
  struct T {
    std::string name;
    DType type;
    std::vector<std::int64_t> dims;
  };
  const std::vector<T> ts = {
      {"f32.vec", DType::kF32, {5}},        {"f16.mat", DType::kF16, {3, 7}},
      {"bf16.3d", DType::kBF16, {2, 3, 4}}, {"q8.mat", DType::kQ8_0, {64, 3}},
      {"i2s.mat", DType::kI2_S, {128, 3}},  {"tl1.mat", DType::kTL1, {256, 2}},
      {"tl2.mat", DType::kTL2, {300, 7}},   {"tq1.mat", DType::kTQ1_0, {256, 2}},
      {"tq2.mat", DType::kTQ2_0, {512, 1}}, {"f32.4d", DType::kF32, {1, 2, 1, 3}}};
  for (const auto& t : ts) w.add_tensor(t.name, t.type, t.dims);
  Rng rng(42);
  std::vector<std::vector<std::uint8_t>> data;
  for (std::size_t i = 0; i < ts.size(); ++i) {
    std::vector<std::uint8_t> d(static_cast<std::size_t>(w.tensor_bytes(i)));
    for (auto& x : d) x = static_cast<std::uint8_t>(rng.next());
    data.push_back(std::move(d));
  }
  const std::string path = tmp.path("all.gguf");
  w.write(path, [&](std::size_t i, GgufSink& s) {
    // In two pieces, to exercise the streaming sink.
    const std::size_t half = data[i].size() / 2;
    s.write(data[i].data(), half);
    s.write(data[i].data() + half, data[i].size() - half);
  });
  EXPECT_EQ(fs::file_size(path), w.file_bytes());

  const auto f = GgufFile::open(path);
  EXPECT_EQ(f->version(), 3u);
  EXPECT_EQ(f->alignment(), 32u);
  EXPECT_EQ(f->data_offset() % 32, 0u);
  ASSERT_EQ(f->kvs().size(), kvs.size());
  for (std::size_t i = 0; i < kvs.size(); ++i) {
    EXPECT_EQ(f->kvs()[i].first, kvs[i].first);
    EXPECT_TRUE(f->kvs()[i].second == kvs[i].second) << kvs[i].first;
  }
  // Typed accessors.
  EXPECT_EQ(f->get_int("t.u8"), 250);
  EXPECT_EQ(f->get_int("t.i8"), -100);
  EXPECT_EQ(f->get_int("t.u16"), 65000);
  EXPECT_EQ(f->get_int("t.i16"), -32000);
  EXPECT_EQ(f->get_int("t.u32"), 4000000000ll);
  EXPECT_EQ(f->get_int("t.i32"), -2000000000);
  EXPECT_EQ(f->get_float("t.f32"), static_cast<double>(-1.5e-7f));
  EXPECT_TRUE(f->get_bool("t.bool_true", false));
  EXPECT_FALSE(f->get_bool("t.bool_false", true));
  EXPECT_EQ(f->get_string("t.string"), std::string("h\xc3\xa9llo\0world", 12));
  EXPECT_EQ(f->get_string("t.empty_string"), "");
  EXPECT_EQ(f->get("t.u64").as_uint(), 18000000000000000000ull);
  EXPECT_EQ(f->get_int("t.i64"), -9000000000000000000ll);
  EXPECT_EQ(f->get_float("t.f64"), 3.141592653589793);
  EXPECT_EQ(f->get_ints("a.i8"), (std::vector<std::int64_t>{-128, 0, 127}));
  EXPECT_EQ(f->get_ints("a.u32"), (std::vector<std::int64_t>{0, 4294967295ll, 7}));
  EXPECT_EQ(f->get_ints("a.i64"),
            (std::vector<std::int64_t>{std::numeric_limits<std::int64_t>::min(), 5}));
  EXPECT_EQ(f->get_floats("a.f32")[0], 0.5f);
  EXPECT_TRUE(std::isinf(f->get_floats("a.f32")[2]));
  EXPECT_EQ(f->get_floats("a.f64")[1], -2.5f);
  EXPECT_EQ(f->get_strings("a.strings"),
            (std::vector<std::string>{"one", "", "thr\xc3\xa9\xc3\xa9", "Ġthe"}));
  EXPECT_TRUE(f->get_strings("a.empty_strings").empty());
  EXPECT_EQ(f->get("a.empty").count(), 0u);
  EXPECT_EQ(f->get("a.bool").type_str(), "array[bool]");

  ASSERT_EQ(f->tensors().size(), ts.size());
  for (std::size_t i = 0; i < ts.size(); ++i) {
    const GgufTensorInfo& t = f->tensors()[i];
    EXPECT_EQ(t.name, ts[i].name);
    EXPECT_EQ(t.type, ts[i].type);
    EXPECT_EQ(t.dims, ts[i].dims);
    EXPECT_EQ(t.offset % 32, 0u) << t.name;
    ASSERT_EQ(t.bytes, data[i].size()) << t.name;
    EXPECT_EQ(0, std::memcmp(t.data, data[i].data(), data[i].size())) << t.name;
    EXPECT_EQ(f->tensor(ts[i].name), &t);
  }
  EXPECT_EQ(f->tensor("absent"), nullptr);
  EXPECT_TRUE(f->bitnet_type_ids());
}

TEST(Gguf, NonDefaultAlignmentAndVersion2) {
  TempDir tmp;
  GgufWriter w(64);
  w.add_kv("general.architecture", GgufValue::string("bitnet"));
  w.add_tensor("a", DType::kF32, {3});
  w.add_tensor("b", DType::kF16, {5});
  const std::string path = tmp.path("a64.gguf");
  const float a[3] = {1, 2, 3};
  const std::uint16_t b[5] = {1, 2, 3, 4, 5};
  w.write(path, [&](std::size_t i, GgufSink& s) { i == 0 ? s.write(a, 12) : s.write(b, 10); });
  auto bytes = read_bytes(path);
  auto f = GgufFile::parse(bytes, "a64.gguf");
  EXPECT_EQ(f->alignment(), 64u);
  EXPECT_EQ(f->get_int("general.alignment"), 64);
  EXPECT_EQ(f->data_offset() % 64, 0u);
  EXPECT_EQ(f->tensor("b")->offset, 64u);
  EXPECT_EQ(0, std::memcmp(f->tensor("b")->data, b, 10));
  // Version 2 has the same layout.
  bytes[4] = 2;
  EXPECT_EQ(GgufFile::parse(bytes, "v2.gguf")->version(), 2u);
}

TEST(Gguf, TensorByteSizesFollowTheSpec) {
  using V = std::vector<std::int64_t>;
  EXPECT_EQ(gguf_tensor_bytes(DType::kF32, V{2560}), 10240u);
  EXPECT_EQ(gguf_tensor_bytes(DType::kF16, V{2560, 128256}), 2560ull * 128256 * 2);
  EXPECT_EQ(gguf_tensor_bytes(DType::kBF16, V{3, 5}), 30u);
  EXPECT_EQ(gguf_tensor_bytes(DType::kQ8_0, V{2560, 10}), 2560u / 32 * 34 * 10);
  EXPECT_EQ(gguf_tensor_bytes(DType::kI2_S, V{2560, 6912}), 2560ull * 6912 / 4 + 32);
  EXPECT_EQ(gguf_tensor_bytes(DType::kTL1, V{2560, 6912}), 2560ull * 6912 / 4 + 32);
  EXPECT_EQ(gguf_tensor_bytes(DType::kTQ1_0, V{2560, 2}), 2u * 10 * 54);
  EXPECT_EQ(gguf_tensor_bytes(DType::kTQ2_0, V{2560, 2}), 2u * 10 * 66);
  // TL2, K = 2560, M = 2560: ((2560-256)*2560)/3*5/8 = 1228800; 256*2560/2*4/8 = 163840;
  // 1392640 is a multiple of 32; + 32.
  EXPECT_EQ(gguf_tensor_bytes(DType::kTL2, V{2560, 2560}), 1392672u);
  // K = 300, M = 7: (44*7)/3 = 102, *5 = 510, /8 = 63; 256*7/2*4/8 = 448; 511 -> 512; + 32.
  EXPECT_EQ(gguf_tensor_bytes(DType::kTL2, V{300, 7}), 544u);
  auto refuses = [](DType t, V dims, const std::string& fragment) {
    try {
      gguf_tensor_bytes(t, dims);
      ADD_FAILURE() << fragment;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  };
  refuses(DType::kQ8_0, V{33, 2}, "multiple of 32");
  refuses(DType::kTQ2_0, V{128}, "multiple of 256");
  refuses(DType::kI2_S, V{64, 3}, "multiple of 128");
  refuses(DType::kTL2, V{128, 4}, "dims[0] >= 256");
  refuses(DType::kI8_S, V{128}, "never stored");
  refuses(DType::kF32, V{}, "expected 1 to 4");
  refuses(DType::kF32, V{1, 1, 1, 1, 1}, "expected 1 to 4");
  refuses(DType::kF32, V{4, 0}, "expected > 0");
  refuses(DType::kF32, V{std::int64_t{1} << 32, std::int64_t{1} << 32}, "overflows 64 bits");
  refuses(DType::kF32, V{std::int64_t{1} << 61, 2}, "byte size overflows");
}

TEST(Gguf, WriterRefusesDuplicatesAndWrongSizes) {
  TempDir tmp;
  GgufWriter w;
  w.add_kv("k", GgufValue::u32(1));
  EXPECT_THROW(w.add_kv("k", GgufValue::u32(2)), std::invalid_argument);
  w.add_tensor("t", DType::kF32, {4});
  EXPECT_THROW(w.add_tensor("t", DType::kF32, {4}), std::invalid_argument);
  EXPECT_THROW(w.add_tensor("u", DType::kI2_S, {100}), std::invalid_argument);
  EXPECT_THROW(GgufWriter(48), std::invalid_argument);
  const std::string path = tmp.path("short.gguf");
  const float x[5] = {};
  try {
    w.write(path, [&](std::size_t, GgufSink& s) { s.write(x, 12); });
    FAIL();
  } catch (const GgufError& e) {
    EXPECT_NE(std::string(e.what()).find("tensor 't': the writer supplied 12 bytes, expected 16"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(w.write(path, [&](std::size_t, GgufSink& s) { s.write(x, 20); }), GgufError);
  EXPECT_TRUE(tmp.entries().empty()) << "a failed write left files behind";
}

// ------------------------------------------------------------------------------------------------
// Atomic writes

TEST(Gguf, FailedWriteLeavesThePreviousFileIntact) {
  TempDir tmp;
  const std::string path = tmp.path("m.gguf");
  GgufWriter w;
  w.add_kv("general.architecture", GgufValue::string("x"));
  for (int i = 0; i < 4; ++i) w.add_tensor("t" + std::to_string(i), DType::kF32, {1000});
  std::vector<float> v(1000, 1.0f);
  w.write(path, [&](std::size_t, GgufSink& s) { s.write(v.data(), 4000); });
  const auto before = read_bytes(path);

  // A writer that fails half-way (an exception from the tensor callback).
  std::fill(v.begin(), v.end(), 2.0f);
  EXPECT_THROW(w.write(path,
                       [&](std::size_t i, GgufSink& s) {
                         if (i == 2) throw std::runtime_error("generator failed");
                         s.write(v.data(), 4000);
                       }),
               std::runtime_error);
  EXPECT_EQ(read_bytes(path), before);
  EXPECT_EQ(tmp.entries(), std::vector<std::string>{"m.gguf"});

  // A writer killed half-way (SIGKILL: no cleanup runs at all). The target is untouched; the
  // temporary file is left under its own name.
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    w.write(path, [&](std::size_t i, GgufSink& s) {
      if (i == 2) ::raise(SIGKILL);
      s.write(v.data(), 4000);
    });
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
  EXPECT_EQ(read_bytes(path), before);
  EXPECT_NO_THROW(GgufFile::open(path));
  const std::string tmp_name = "m.gguf.tmp." + std::to_string(pid);
  auto entries = tmp.entries();
  std::sort(entries.begin(), entries.end());
  EXPECT_EQ(entries, (std::vector<std::string>{"m.gguf", tmp_name}));

  // A successful write replaces the file.
  w.write(path, [&](std::size_t, GgufSink& s) { s.write(v.data(), 4000); });
  EXPECT_NE(read_bytes(path), before);
  float x;
  std::memcpy(&x, GgufFile::open(path)->tensor("t3")->data, 4);
  EXPECT_EQ(x, 2.0f);
}

// ------------------------------------------------------------------------------------------------
// Bad input: crafted files

TEST(GgufBadInput, SmallValidFileParses) {
  const auto f = GgufFile::parse(small_valid(), "ok.gguf");
  EXPECT_EQ(f->tensor("t")->bytes, 32u);
  EXPECT_EQ(f->data_offset(), small_valid().size() - 32);
}

TEST(GgufBadInput, Header) {
  expect_parse_error({}, {"header (magic)", "truncated"});
  auto b = small_valid();
  b[3] = 'G';
  expect_parse_error(b, {"header: magic is 'GGUG'", "expected 'GGUF'"});
  for (std::uint32_t v : {0u, 1u, 4u, 0xffffffffu}) {
    b = small_valid();
    std::memcpy(b.data() + 4, &v, 4);
    expect_parse_error(b, {"version is " + std::to_string(v), "expected 2 or 3"});
  }
  b = small_valid();
  b.resize(20);
  expect_parse_error(b, {"header (KV count)", "ends at 20"});
  expect_parse_error(
      Raw().header(~0ull, 0).b,
      {"tensor info #0 (name)", "the header's tensor count 18446744073709551615 cannot fit"});
  expect_parse_error(Raw().header(0, ~0ull).b,
                     {"KV #0 (key)", "the header's KV count 18446744073709551615 cannot fit"});
  expect_parse_error(Raw().header(0, std::uint64_t{1} << 62).zeros(100).b,
                     {"KV count", "expected at most 7"});
  // A plausible count that the file does not hold: the missing item is named, without the hint.
  const auto plausible = Raw().header(0, 2).kv_u32("a", 1).u64(20).zeros(5).b;
  expect_parse_error(plausible, {"KV #1 (key)", "string length 20"});
  try {
    GgufFile::parse(plausible, "p");
  } catch (const GgufError& e) {
    EXPECT_EQ(std::string(e.what()).find("cannot fit"), std::string::npos) << e.what();
  }
}

TEST(GgufBadInput, Kvs) {
  // Key length beyond the file, and one whose end overflows 64 bits.
  expect_parse_error(Raw().header(0, 1).u64(1000).b,
                     {"KV #0 (key)", "string length 1000", "exceeds"});
  expect_parse_error(Raw().header(0, 1).u64(~0ull).zeros(8).b,
                     {"KV #0 (key)", "string length 18446744073709551615"});
  expect_parse_error(Raw().header(0, 1).str("").u32(4).u32(1).b, {"KV #0: empty key"});
  expect_parse_error(Raw().header(0, 1).str("k").u32(13).u32(0).b,
                     {"key 'k': unknown value type 13"});
  expect_parse_error(Raw().header(0, 1).str("k").u32(4).b, {"key 'k' (value)", "truncated"});
  expect_parse_error(Raw().header(0, 1).str("k").u32(7).put("\x02", 1).b,
                     {"key 'k'", "bool value is 2"});
  expect_parse_error(Raw().header(0, 1).str("k").u32(8).u64(1ull << 40).b,
                     {"key 'k'", "string length 1099511627776"});
  // Arrays: unknown and nested element types, counts whose byte size overflows, strings beyond the
  // file.
  expect_parse_error(Raw().header(0, 1).str("a").u32(9).u32(99).u64(0).b,
                     {"key 'a': unknown array element type 99"});
  expect_parse_error(Raw().header(0, 1).str("a").u32(9).u32(9).u64(0).b,
                     {"key 'a': arrays of arrays"});
  expect_parse_error(
      Raw().header(0, 1).str("a").u32(9).u32(4).u64(std::uint64_t{1} << 62).zeros(16).b,
      {"key 'a': array of 4611686018427387904 uint32 cannot fit"});
  expect_parse_error(Raw().header(0, 1).str("a").u32(9).u32(12).u64(~0ull).zeros(16).b,
                     {"key 'a'", "float64 cannot fit"});
  expect_parse_error(
      Raw().header(0, 1).str("a").u32(9).u32(8).u64(std::uint64_t{1} << 61).zeros(64).b,
      {"key 'a': array of 2305843009213693952 strings cannot fit"});
  expect_parse_error(Raw().header(0, 1).str("a").u32(9).u32(8).u64(2).str("x").u64(50).b,
                     {"key 'a'[1]", "string length 50"});
  expect_parse_error(Raw().header(0, 1).str("a").u32(9).u32(7).u64(3).put("\x01\x00\x05", 3).b,
                     {"key 'a'[2]: bool value is 5"});
  // Duplicate keys.
  expect_parse_error(Raw().header(0, 3).kv_u32("x", 1).kv_u32("y", 2).kv_u32("x", 3).b,
                     {"key 'x': appears twice (KV #0 and #2"});
  // Unprintable key names are shown escaped.
  expect_parse_error(Raw().header(0, 1).str(std::string("k\x01\xff", 3)).u32(77).b,
                     {"key 'k\\x01\\xff'"});
}

TEST(GgufBadInput, Alignment) {
  expect_parse_error(Raw().header(0, 1).kv_u32("general.alignment", 0).b,
                     {"'general.alignment' is 0", "power of two"});
  expect_parse_error(Raw().header(0, 1).kv_u32("general.alignment", 48).b,
                     {"'general.alignment' is 48"});
  expect_parse_error(Raw().header(0, 1).kv_str("general.alignment", "32").b,
                     {"'general.alignment' has type string, expected uint32"});
  // Misaligned tensor offset (16 with the default 32, then 32 with alignment 64).
  expect_parse_error(
      Raw().header(2, 0).tensor("a", {4}, 0, 0).tensor("b", {4}, 0, 16).pad().zeros(64).b,
      {"tensor 'b': data offset 16 is not a multiple of the alignment 32"});
  expect_parse_error(Raw()
                         .header(1, 1)
                         .kv_u32("general.alignment", 64)
                         .tensor("a", {4}, 0, 32)
                         .pad(64)
                         .zeros(128)
                         .b,
                     {"tensor 'a': data offset 32 is not a multiple of the alignment 64"});
}

TEST(GgufBadInput, TensorInfos) {
  auto one = [](std::vector<std::uint64_t> dims, std::uint32_t type, std::uint64_t offset,
                std::size_t data, const std::string& arch = "test") {
    return Raw()
        .header(1, 1)
        .kv_str("general.architecture", arch)
        .tensor("w", dims, type, offset)
        .pad()
        .zeros(data)
        .b;
  };
  expect_parse_error(Raw().header(1, 0).u64(100).zeros(24).b,
                     {"tensor info #0 (name)", "string length 100"});
  expect_parse_error(one({}, 0, 0, 32), {"tensor 'w': 0 dimensions (expected 1 to 4)"});
  expect_parse_error(one({1, 1, 1, 1, 1}, 0, 0, 32), {"tensor 'w': 5 dimensions"});
  expect_parse_error(one({4, 0}, 0, 0, 32), {"tensor 'w': dimension 1 is 0"});
  expect_parse_error(one({~0ull}, 0, 0, 32), {"tensor 'w': dimension 0 is 18446744073709551615"});
  expect_parse_error(one({1ull << 32, 1ull << 32}, 0, 0, 32),
                     {"tensor 'w'", "element count overflows 64 bits"});
  expect_parse_error(one({1ull << 61, 2}, 0, 0, 32), {"tensor 'w'", "byte size overflows"});
  // TL2's formula on a huge shape (K = 2^40, M = 2^22): ((K-256)*M)/3*5/8 = 960767920282009600,
  // 256*M/2*4/8 = 268435456, sum 960767920550445056 (a multiple of 32), + 32.
  expect_parse_error(one({1ull << 40, 1ull << 22}, 39, 0, 32, "bitnet"),
                     {"tensor 'w'", "lies outside the file", "needs 960767920550445088 bytes"});
  // Unknown types, and bitnet.cpp's ids in a file that is not a bitnet.cpp file.
  expect_parse_error(one({8}, 99, 0, 32),
                     {"tensor 'w': unsupported tensor type id 99 (unknown to ggml)"});
  expect_parse_error(one({256}, 12, 0, 256),
                     {"tensor 'w': unsupported tensor type id 12 (ggml Q4_K)"});
  expect_parse_error(one({128}, 36, 0, 64),
                     {"tensor 'w': unsupported tensor type id 36", "not a bitnet.cpp file"});
  expect_parse_error(one({128}, 39, 0, 64), {"(ggml MXFP4)", "upstream"});
  expect_parse_error(one({128}, 37, 0, 64, "bitnet"), {"tensor 'w'", "I8_S", "never stored"});
  EXPECT_EQ(GgufFile::parse(one({128}, 36, 0, 64, "bitnet"), "ok")->tensor("w")->type,
            DType::kI2_S);
  EXPECT_EQ(GgufFile::parse(one({128}, 36, 0, 64, "bitnet-b1.58"), "ok")->tensor("w")->bytes, 64u);
  // file_type 40 marks a bitnet.cpp file too.
  auto ft = Raw()
                .header(1, 1)
                .kv_u32("general.file_type", 40)
                .tensor("w", {128}, 38, 0)
                .pad()
                .zeros(64)
                .b;
  EXPECT_EQ(GgufFile::parse(ft, "ok")->tensor("w")->type, DType::kTL1);
  // Shapes the type cannot hold.
  expect_parse_error(one({100}, 36, 0, 64, "bitnet"),
                     {"tensor 'w' [100] of type I2_S", "multiple of 128"});
  expect_parse_error(one({48}, 8, 0, 64), {"tensor 'w' [48] of type Q8_0", "multiple of 32"});
  // Duplicate names.
  expect_parse_error(
      Raw().header(2, 0).tensor("w", {8}, 0, 0).tensor("w", {8}, 0, 32).pad().zeros(64).b,
      {"tensor 'w': appears twice (tensor infos #0 and #1"});
}

TEST(GgufBadInput, DataOutsideTheFile) {
  // Data ending one byte past the end, starting past the end, and an offset that overflows.
  auto b = Raw().header(1, 0).tensor("blk.3.attn_q.weight", {8}, 0, 0).pad().zeros(31).b;
  expect_parse_error(b, {"tensor 'blk.3.attn_q.weight': data [0, 0+32)",
                         "lies outside the file (size " + std::to_string(b.size()) + ";"});
  expect_parse_error(Raw().header(1, 0).tensor("w", {8}, 0, 64).pad().zeros(64).b,
                     {"tensor 'w': data [64, 64+32)"});
  expect_parse_error(Raw().header(1, 0).tensor("w", {8}, 0, ~0ull - 31).pad().zeros(32).b,
                     {"tensor 'w': data [18446744073709551584", "outside the file"});
  // The data section itself starts past the end (file cut right after the tensor infos).
  auto c = Raw().header(1, 0).tensor("w", {8}, 0, 0).b;
  expect_parse_error(c,
                     {"data section: starts at 64", "only " + std::to_string(c.size()) + " bytes"});
}

TEST(GgufBadInput, FilesThatAreNotThere) {
  TempDir tmp;
  try {
    GgufFile::open(tmp.path("missing.gguf"));
    FAIL();
  } catch (const GgufError& e) {
    EXPECT_NE(std::string(e.what()).find("missing.gguf: cannot open: No such file"),
              std::string::npos)
        << e.what();
  }
  try {
    GgufFile::open(tmp.path(""));
    FAIL();
  } catch (const GgufError& e) {
    EXPECT_NE(std::string(e.what()).find("not a regular file"), std::string::npos) << e.what();
  }
  std::ofstream(tmp.path("empty.gguf")).close();
  try {
    GgufFile::open(tmp.path("empty.gguf"));
    FAIL();
  } catch (const GgufError& e) {
    EXPECT_NE(std::string(e.what()).find(
                  "empty.gguf: header: the file has 0 bytes, expected at least 24"),
              std::string::npos)
        << e.what();
  }
}

TEST(GgufBadInput, WrongTypeKvLookups) {
  const auto f = GgufFile::parse(Raw()
                                     .header(0, 3)
                                     .kv_str("s", "x")
                                     .kv_u32("u", 7)
                                     .str("neg")
                                     .u32(5)
                                     .u32(static_cast<std::uint32_t>(-3))
                                     .b,
                                 "kv.gguf");
  auto msg = [&](auto fn) {
    try {
      fn();
    } catch (const GgufError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(msg([&] { f->get_int("s"); }), "kv.gguf: key 's' has type string, expected an integer");
  EXPECT_EQ(msg([&] { f->get_string("u"); }), "kv.gguf: key 'u' has type uint32, expected string");
  EXPECT_EQ(msg([&] { f->get_float("u"); }),
            "kv.gguf: key 'u' has type uint32, expected float32 or float64");
  EXPECT_EQ(msg([&] { f->get_strings("s"); }),
            "kv.gguf: key 's' has type string, expected array[string]");
  EXPECT_EQ(msg([&] { f->get_int("missing"); }), "kv.gguf: key 'missing' is missing");
  EXPECT_EQ(f->get_int("neg"), -3);
  EXPECT_THROW(f->get("neg").as_uint(), std::invalid_argument);
  EXPECT_EQ(f->get_int("missing", 5), 5);
}

// ------------------------------------------------------------------------------------------------
// Models: the official 2B-4T layout and GgufSource's checks

// A model written tensor by tensor with the KVs of bitnet.cpp's converter, listed here explicitly
// (not through add_bitnet_kvs) so the test states the official key set on its own.
struct ModelFile {
  ModelConfig cfg;
  TokenizerSpec vocab;
  std::vector<std::pair<std::string, GgufValue>> kvs;
  struct Tensor {
    std::string name;
    DType type;
    std::vector<std::int64_t> dims;
    std::vector<std::uint8_t> data;
  };
  std::vector<Tensor> tensors;

  ModelFile(const ModelConfig& c, std::uint64_t seed)
      : cfg(c), vocab(synthetic_gpt2_vocab(c.vocab)) {
    const std::string p = c.arch + ".";
    auto u32 = [](std::int64_t v) { return GgufValue::u32(static_cast<std::uint32_t>(v)); };
    kvs = {{"general.architecture", GgufValue::string(c.arch)},
           {"general.name", GgufValue::string("test " + c.name)},
           {p + "vocab_size", u32(c.vocab)},
           {p + "context_length", u32(c.context)},
           {p + "embedding_length", u32(c.hidden)},
           {p + "block_count", u32(c.layers)},
           {p + "feed_forward_length", u32(c.ffn)},
           {p + "rope.dimension_count", u32(c.head_dim)},
           {p + "attention.head_count", u32(c.heads)},
           {p + "attention.head_count_kv", u32(c.kv_heads)},
           {p + "attention.layer_norm_rms_epsilon", GgufValue::f32(c.eps)},
           {p + "rope.freq_base", GgufValue::f32(static_cast<float>(c.rope_theta))},
           {"general.file_type", GgufValue::u32(40)},
           {"tokenizer.ggml.model", GgufValue::string("gpt2")},
           {"tokenizer.ggml.pre", GgufValue::string(vocab.pre)},
           {"tokenizer.ggml.tokens", GgufValue::array_strings(vocab.tokens)},
           {"tokenizer.ggml.scores",
            GgufValue::array_of<float>(GgufType::kFloat32,
                                       std::vector<float>(vocab.tokens.size(), 0.0f))},
           {"tokenizer.ggml.merges", GgufValue::array_strings(vocab.merges)},
           {"tokenizer.ggml.bos_token_id", u32(vocab.bos)},
           {"tokenizer.ggml.eos_token_id", u32(vocab.eos)},
           {"tokenizer.ggml.add_bos_token", GgufValue::boolean(true)},
           {"tokenizer.chat_template", GgufValue::string(vocab.chat_template)},
           {"general.quantization_version", GgufValue::u32(2)}};
    std::vector<std::int32_t> types;
    for (auto t : vocab.types) types.push_back(static_cast<std::int32_t>(t));
    kvs.insert(kvs.begin() + 17, {"tokenizer.ggml.token_type",
                                  GgufValue::array_of<std::int32_t>(GgufType::kInt32, types)});

    SyntheticSource src(c, seed);
    auto add = [&](const std::string& n) {
      const auto [rows, cols] = src.shape(n);
      const std::vector<std::int64_t> dims =
          rows == 1 ? std::vector<std::int64_t>{cols} : std::vector<std::int64_t>{cols, rows};
      if (is_bitlinear_weight(n)) {
        tensors.push_back({n, DType::kI2_S, dims, i2s::encode_file(src.ternary(n))});
      } else {
        const DenseTensor d = src.dense(n);
        tensors.push_back(
            {n, d.type, dims, std::vector<std::uint8_t>(d.data, d.data + d.rows * d.row_bytes())});
      }
    };
    // Order of the official file: token_embd, then per layer, then output_norm (and output).
    for (const auto& n : src.tensor_names()) add(n);
  }
  Tensor& tensor(const std::string& name) {
    for (auto& t : tensors)
      if (t.name == name) return t;
    throw std::invalid_argument(name);
  }
  void set_kv(const std::string& key, GgufValue v) {
    for (auto& kv : kvs)
      if (kv.first == key) {
        kv.second = std::move(v);
        return;
      }
    kvs.emplace_back(key, std::move(v));
  }
  void erase_kv(const std::string& key) {
    std::erase_if(kvs, [&](const auto& kv) { return kv.first == key; });
  }
  void write(const std::string& path) const {
    GgufWriter w;
    for (const auto& [k, v] : kvs) w.add_kv(k, v);
    for (const auto& t : tensors) w.add_tensor(t.name, t.type, t.dims);
    w.write(path, [&](std::size_t i, GgufSink& s) {
      s.write(tensors[i].data.data(), tensors[i].data.size());
    });
  }
};

// 2B-4T's structure (30 layers, 20 heads over 5 kv heads, ReLU^2, tied) with small widths.
ModelConfig shrunk_2b4t() {
  ModelConfig c = *find_preset("2b4t");
  c.name = "2b4t-shrunk";
  c.hidden = 160;
  c.head_dim = 8;
  c.ffn = 432;
  c.vocab = 512;
  return c;
}

// One layer, for the many files of the bad-input tests.
ModelConfig micro(const std::string& arch = "bitnet-b1.58") {
  ModelConfig c = *find_preset(arch == "bitnet" ? "tiny-silu" : "tiny");
  c.name = "micro";
  c.layers = 1;
  c.hidden = 64;
  c.heads = 2;
  c.kv_heads = arch == "bitnet" ? 2 : 1;
  c.head_dim = 32;
  c.ffn = 128;
  c.vocab = 320;
  return c;
}

std::string source_error(const ModelFile& m, const std::string& path) {
  m.write(path);
  try {
    GgufSource s(path);
    return "no error";
  } catch (const GgufError& e) {
    return e.what();
  }
}

TEST(GgufSource, ReadsTheOfficial2B4TLayout) {
  TempDir tmp;
  const ModelConfig c = shrunk_2b4t();
  const ModelFile m(c, 5);
  ASSERT_EQ(m.tensors.size(), 332u);
  const std::string path = tmp.path("ggml-model-i2_s.gguf");
  m.write(path);

  const GgufSource s(path);
  const ModelConfig& r = s.config();
  EXPECT_EQ(r.arch, "bitnet-b1.58");
  EXPECT_EQ(r.act, Activation::kReluSquared);
  EXPECT_TRUE(r.tied);
  EXPECT_EQ(r.hidden, 160);
  EXPECT_EQ(r.ffn, 432);
  EXPECT_EQ(r.layers, 30);
  EXPECT_EQ(r.heads, 20);
  EXPECT_EQ(r.kv_heads, 5);
  EXPECT_EQ(r.head_dim, 8);
  EXPECT_EQ(r.vocab, 512);
  EXPECT_EQ(r.context, 4096);
  EXPECT_EQ(r.rope_theta, 500000.0);
  EXPECT_EQ(r.eps, 1e-5f);
  EXPECT_EQ(r.name, "test 2b4t-shrunk");
  EXPECT_EQ(s.file().get_int("general.file_type"), 40);
  EXPECT_TRUE(s.file().bitnet_type_ids());
  EXPECT_EQ(s.file().tensors().size(), 332u);
  EXPECT_EQ(s.tensor_names().size(), 332u);
  EXPECT_FALSE(s.has("output.weight"));

  // Every tensor back as written: I2_S decoded bit for bit, dense views byte for byte.
  const SyntheticSource src(c, 5);
  for (const auto& n : s.tensor_names()) {
    ASSERT_TRUE(s.has(n)) << n;
    if (is_bitlinear_weight(n)) {
      const TernaryMatrix a = s.ternary(n), b = src.ternary(n);
      ASSERT_EQ(a.M, b.M) << n;
      ASSERT_EQ(a.K, b.K) << n;
      ASSERT_EQ(a.w, b.w) << n;
      ASSERT_EQ(a.scale, b.scale) << n;
    } else {
      const DenseTensor a = s.dense(n), b = src.dense(n);
      ASSERT_EQ(a.type, b.type) << n;
      ASSERT_EQ(a.rows, b.rows) << n;
      ASSERT_EQ(a.cols, b.cols) << n;
      ASSERT_EQ(0, std::memcmp(a.data, b.data, static_cast<std::size_t>(a.rows) * a.row_bytes()))
          << n;
    }
  }
  const DenseTensor e = s.dense("token_embd.weight");
  EXPECT_EQ(e.type, DType::kF16);
  EXPECT_EQ(e.rows, 512);
  EXPECT_EQ(e.cols, 160);

  // The vocabulary.
  const TokenizerSpec* v = s.tokenizer();
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->model, "gpt2");
  EXPECT_EQ(v->pre, "llama-bpe");
  EXPECT_EQ(v->tokens, m.vocab.tokens);
  EXPECT_EQ(v->scores, std::vector<float>(512, 0.0f));
  EXPECT_EQ(v->types, m.vocab.types);
  EXPECT_EQ(v->merges, m.vocab.merges);
  EXPECT_EQ(v->bos, m.vocab.bos);
  EXPECT_EQ(v->eos, m.vocab.eos);
  EXPECT_TRUE(v->add_bos);
  EXPECT_FALSE(v->add_eos);
  EXPECT_EQ(v->chat_template, m.vocab.chat_template);
}

TEST(GgufSource, ReadsTheBitnetArchUntiedWithOutputMatrix) {
  TempDir tmp;
  const ModelConfig c = micro("bitnet");
  ModelFile m(c, 9);
  ASSERT_TRUE(m.tensors.back().name == "output.weight");
  // Without the optional keys: kv heads default to heads, rope dims to head_dim, theta to 10000.
  m.erase_kv("bitnet.attention.head_count_kv");
  m.erase_kv("bitnet.rope.dimension_count");
  m.erase_kv("bitnet.rope.freq_base");
  m.erase_kv("bitnet.vocab_size");
  m.write(tmp.path("b.gguf"));
  const GgufSource s(tmp.path("b.gguf"));
  EXPECT_EQ(s.config().act, Activation::kSilu);
  EXPECT_FALSE(s.config().tied);
  EXPECT_EQ(s.config().kv_heads, 2);
  EXPECT_EQ(s.config().vocab, 320);
  EXPECT_EQ(s.config().rope_theta, 10000.0);
  const DenseTensor o = s.dense("output.weight"),
                    want = SyntheticSource(c, 9).dense("output.weight");
  EXPECT_EQ(0, std::memcmp(o.data, want.data, static_cast<std::size_t>(o.rows) * o.row_bytes()));
}

TEST(GgufSource, FloatMasterWeightsAreQuantizedWithAbsmean) {
  TempDir tmp;
  ModelFile m(micro(), 3);
  Rng rng(77);
  const std::string n = "blk.0.ffn_down.weight";  // 64 x 128
  std::vector<float> w(64 * 128);
  for (auto& x : w) x = static_cast<float>(rng.normal() * 0.05);
  auto& t = m.tensor(n);
  for (DType type : {DType::kF32, DType::kF16, DType::kBF16}) {
    SCOPED_TRACE(dtype_name(type));
    std::vector<float> expect_in(w);
    t.type = type;
    t.data.clear();
    for (auto& x : expect_in) {
      if (type == DType::kF32) {
        t.data.insert(t.data.end(), reinterpret_cast<std::uint8_t*>(&x),
                      reinterpret_cast<std::uint8_t*>(&x) + 4);
        continue;
      }
      const std::uint16_t h = type == DType::kF16 ? f32_to_f16(x) : f32_to_bf16(x);
      x = type == DType::kF16 ? f16_to_f32(h) : bf16_to_f32(h);
      t.data.push_back(static_cast<std::uint8_t>(h));
      t.data.push_back(static_cast<std::uint8_t>(h >> 8));
    }
    m.write(tmp.path("f.gguf"));
    const GgufSource s(tmp.path("f.gguf"));
    const TernaryMatrix got = s.ternary(n),
                        want = reference::quantize_weights_absmean(expect_in.data(), 64, 128);
    EXPECT_EQ(got.w, want.w);
    EXPECT_EQ(got.scale, want.scale);
  }
  // A NaN master weight is refused when the tensor is read.
  float nan = std::numeric_limits<float>::quiet_NaN();
  t.type = DType::kF32;
  t.data.assign(reinterpret_cast<const std::uint8_t*>(w.data()),
                reinterpret_cast<const std::uint8_t*>(w.data() + w.size()));
  std::memcpy(t.data.data() + 4 * 130, &nan, 4);
  m.write(tmp.path("nan.gguf"));
  const GgufSource s(tmp.path("nan.gguf"));
  try {
    s.ternary(n);
    FAIL();
  } catch (const GgufError& e) {
    EXPECT_NE(std::string(e.what()).find(
                  "nan.gguf: tensor 'blk.0.ffn_down.weight': weight 130 (row 1) is nan"),
              std::string::npos)
        << e.what();
  }
}

TEST(GgufSource, BadModels) {
  TempDir tmp;
  const std::string path = tmp.path("m.gguf");
  auto expect = [&](const ModelFile& m, const std::vector<std::string>& fragments) {
    const std::string msg = source_error(m, path);
    EXPECT_EQ(msg.rfind(path + ": ", 0), 0u) << msg;
    for (const auto& f : fragments)
      EXPECT_NE(msg.find(f), std::string::npos) << "'" << f << "' not in: " << msg;
  };
  const ModelConfig c = micro();
  EXPECT_EQ(source_error(ModelFile(c, 1), path), "no error");
  {  // unsupported architecture
    ModelFile m(c, 1);
    m.set_kv("general.architecture", GgufValue::string("llama"));
    expect(m, {"key 'general.architecture' is 'llama', expected 'bitnet-b1.58'", "'bitnet'"});
  }
  {  // missing key
    ModelFile m(c, 1);
    m.erase_kv("bitnet-b1.58.block_count");
    expect(m, {"key 'bitnet-b1.58.block_count' is missing"});
  }
  {  // wrong-type key
    ModelFile m(c, 1);
    m.set_kv("bitnet-b1.58.embedding_length", GgufValue::string("64"));
    expect(m, {"key 'bitnet-b1.58.embedding_length' has type string, expected an integer"});
  }
  {  // absurd and inconsistent hyperparameters
    ModelFile m(c, 1);
    m.set_kv("bitnet-b1.58.block_count", GgufValue::u64(~0ull));
    expect(m,
           {"key 'bitnet-b1.58.block_count' is 18446744073709551615, expected a value below 2^63"});
    m.set_kv("bitnet-b1.58.block_count", GgufValue::i32(-1));
    expect(m, {"key 'bitnet-b1.58.block_count' is -1 (expected 1..4096)"});
    m.set_kv("bitnet-b1.58.block_count", GgufValue::u32(1));
    m.set_kv("bitnet-b1.58.attention.head_count", GgufValue::u32(3));
    expect(m, {"'bitnet-b1.58.embedding_length' (64) is not a multiple of "
               "'bitnet-b1.58.attention.head_count' (3)"});
    m.set_kv("bitnet-b1.58.attention.head_count", GgufValue::u32(2));
    m.set_kv("bitnet-b1.58.attention.head_count_kv", GgufValue::u32(3));
    expect(m, {"'bitnet-b1.58.attention.head_count_kv' is 3 (expected 1..2)"});
    m.set_kv("bitnet-b1.58.attention.head_count_kv", GgufValue::u32(1));
    m.set_kv("bitnet-b1.58.rope.dimension_count", GgufValue::u32(16));
    expect(m, {"'bitnet-b1.58.rope.dimension_count' is 16, expected the head dimension 32"});
    m.set_kv("bitnet-b1.58.rope.dimension_count", GgufValue::u32(32));
    m.set_kv("bitnet-b1.58.attention.layer_norm_rms_epsilon", GgufValue::f32(std::nanf("")));
    expect(m, {"'bitnet-b1.58.attention.layer_norm_rms_epsilon' is nan"});
  }
  {  // a missing tensor
    ModelFile m(c, 1);
    std::erase_if(m.tensors, [](const auto& t) { return t.name == "blk.0.ffn_sub_norm.weight"; });
    expect(m, {"tensor 'blk.0.ffn_sub_norm.weight' is missing (expected for a bitnet-b1.58 model "
               "with 1 layers)"});
  }
  {  // a wrong-shape tensor (transposed)
    ModelFile m(c, 1);
    auto& t = m.tensor("blk.0.ffn_down.weight");
    std::swap(t.dims[0], t.dims[1]);
    expect(m, {"tensor 'blk.0.ffn_down.weight' has shape [64, 128], expected [128, 64]"});
  }
  {  // a wrong-size vocabulary (the embedding says 320 rows)
    ModelFile m(c, 1);
    m.set_kv("bitnet-b1.58.vocab_size", GgufValue::u32(321));
    expect(m, {"tensor 'token_embd.weight' has shape [64, 320], expected [64, 321]"});
  }
  {  // token ids and vocabulary arrays
    ModelFile m(c, 1);
    m.set_kv("tokenizer.ggml.bos_token_id", GgufValue::u32(320));
    expect(m, {"key 'tokenizer.ggml.bos_token_id' is 320 (expected a token id below 320)"});
    m.set_kv("tokenizer.ggml.bos_token_id", GgufValue::u32(3));
    m.set_kv("tokenizer.ggml.scores",
             GgufValue::array_of<float>(GgufType::kFloat32, std::vector<float>(5)));
    expect(m, {"key 'tokenizer.ggml.scores' has 5 entries, expected 320"});
    m.set_kv("tokenizer.ggml.scores",
             GgufValue::array_of<float>(GgufType::kFloat32, std::vector<float>(320)));
    m.set_kv("tokenizer.ggml.token_type", GgufValue::array_of<std::int32_t>(
                                              GgufType::kInt32, std::vector<std::int32_t>(320, 9)));
    expect(m, {"key 'tokenizer.ggml.token_type' element 0 is 9 (expected 0..6)"});
    m.set_kv("tokenizer.ggml.tokens", GgufValue::array_strings(std::vector<std::string>(319, "x")));
    expect(m, {"key 'tokenizer.ggml.tokens' has 319 tokens, expected 320"});
  }
  {  // types: Q8_0 is no BitLinear type, TL1 is shape-specific, norms must be float
    ModelFile m(c, 1);
    auto& g = m.tensor("blk.0.ffn_gate.weight");
    g.type = DType::kQ8_0;
    g.data.assign(gguf_tensor_bytes(DType::kQ8_0, g.dims), 0);
    expect(m, {"tensor 'blk.0.ffn_gate.weight' (Q8_0): unsupported for a BitLinear weight "
               "(expected I2_S, F32"});
    g = ModelFile(c, 1).tensor("blk.0.ffn_gate.weight");
    auto& t = m.tensor("blk.0.attn_q.weight");
    t.type = DType::kTL1;
    t.data.assign(gguf_tensor_bytes(DType::kTL1, t.dims), 0);
    expect(m, {"tensor 'blk.0.attn_q.weight' (TL1): bitnet.cpp generates TL1/TL2 layouts for "
               "specific model shapes",
               "convert the model to I2_S"});
    t = ModelFile(c, 1).tensor("blk.0.attn_q.weight");
    auto& nrm = m.tensor("blk.0.attn_norm.weight");
    nrm.type = DType::kQ8_0;
    nrm.data.assign(gguf_tensor_bytes(DType::kQ8_0, nrm.dims), 0);
    expect(m, {"tensor 'blk.0.attn_norm.weight' (Q8_0): unsupported for a norm weight"});
    auto& e = m.tensor("token_embd.weight");
    nrm = ModelFile(c, 1).tensor("blk.0.attn_norm.weight");
    e.type = DType::kI2_S;
    e.data.assign(gguf_tensor_bytes(DType::kI2_S, e.dims), 0);
    expect(m, {"tensor 'token_embd.weight' (I2_S): unsupported for an embedding or output matrix"});
  }
  {  // TL2 and TQ2_0 need K >= 256: a wider model
    ModelConfig w = c;
    w.hidden = 256;
    w.heads = 8;
    w.kv_heads = 4;
    ModelFile m(w, 1);
    auto& t = m.tensor("blk.0.attn_q.weight");
    t.type = DType::kTL2;
    t.data.assign(gguf_tensor_bytes(DType::kTL2, t.dims), 0);
    expect(m, {"tensor 'blk.0.attn_q.weight' (TL2): bitnet.cpp generates TL1/TL2 layouts"});
    t.type = DType::kTQ2_0;
    t.data.assign(gguf_tensor_bytes(DType::kTQ2_0, t.dims), 0);
    expect(m, {"tensor 'blk.0.attn_q.weight' (TQ2_0): llama.cpp ternary types carry a scale per "
               "256 weights"});
    t.type = DType::kTQ1_0;
    t.data.assign(gguf_tensor_bytes(DType::kTQ1_0, t.dims), 0);
    expect(m, {"(TQ1_0): llama.cpp ternary types carry a scale per 256 weights"});
  }
  {  // a NaN and a negative I2_S scale: refused at open
    ModelFile m(c, 1);
    auto& t = m.tensor("blk.0.attn_v.weight");  // 32 x 64
    const float nan = std::numeric_limits<float>::quiet_NaN(), neg = -0.5f;
    std::memcpy(t.data.data() + 32 * 64 / 4, &nan, 4);
    expect(m, {"tensor 'blk.0.attn_v.weight' (I2_S): weight scale is nan (expected a finite "
               "positive float at byte 512"});
    std::memcpy(t.data.data() + 32 * 64 / 4, &neg, 4);
    expect(m, {"tensor 'blk.0.attn_v.weight' (I2_S): weight scale is -0.5"});
  }
  {  // a non-finite norm weight
    ModelFile m(c, 1);
    const float inf = std::numeric_limits<float>::infinity();
    std::memcpy(m.tensor("output_norm.weight").data.data() + 4 * 7, &inf, 4);
    expect(m, {"tensor 'output_norm.weight' (F32): element 7 is inf (expected finite)"});
  }
}

TEST(GgufSource, I2sCodeThreeIsRefusedWhenTheTensorIsRead) {
  TempDir tmp;
  ModelFile m(micro(), 1);
  auto& t = m.tensor("blk.0.attn_k.weight");  // 32 x 64
  t.data[33] |= 0x30;  // block 1, byte 1, bits 5:4 -> weight 128 + 1 + 32 = 161
  const std::string path = tmp.path("c3.gguf");
  m.write(path);
  const GgufSource s(path);  // open does not scan the codes
  try {
    s.ternary("blk.0.attn_k.weight");
    FAIL();
  } catch (const GgufError& e) {
    EXPECT_NE(std::string(e.what()).find(
                  path + ": tensor 'blk.0.attn_k.weight': I2_S weight 161 (row 2, column 33) "
                         "has the unused code 3"),
              std::string::npos)
        << e.what();
  }
  EXPECT_NO_THROW(s.ternary("blk.0.attn_q.weight"));
  EXPECT_THROW(s.ternary("token_embd.weight"), std::invalid_argument);
  EXPECT_THROW(s.ternary("blk.7.attn_q.weight"), GgufError);
  EXPECT_THROW(s.dense("blk.0.attn_q.weight"), GgufError);  // I2_S is not a dense type
}

// Every prefix of a valid model file fails cleanly; at each section boundary the error names the
// item being read there.
TEST(GgufBadInput, TruncationAtEveryByteAndSectionBoundary) {
  TempDir tmp;
  ModelFile m(micro(), 2);
  const std::string path = tmp.path("t.gguf");
  m.write(path);
  const auto full = read_bytes(path);
  const auto f = GgufFile::parse(full, "t.gguf");
  const GgufTensorInfo& last = f->tensors().back();
  const std::uint64_t end = f->data_offset() + last.offset + last.bytes;

  // Boundaries: header, each KV, each tensor info, the data section, each tensor's data.
  struct Boundary {
    std::uint64_t at;
    std::string names;
  };
  std::vector<Boundary> bounds;
  std::uint64_t pos = 24;
  bounds.push_back({0, "header (magic)"});
  bounds.push_back({8, "header (tensor count)"});
  bounds.push_back({16, "header (KV count)"});
  for (std::size_t i = 0; i < m.kvs.size(); ++i) {
    bounds.push_back({pos, "KV #" + std::to_string(i) + " (key"});
    bounds.push_back(
        {pos + 8 + m.kvs[i].first.size(), "key '" + m.kvs[i].first + "' (value type)"});
    pos += 8 + m.kvs[i].first.size() + m.kvs[i].second.encoded_size();
  }
  for (std::size_t i = 0; i < m.tensors.size(); ++i) {
    bounds.push_back({pos, "tensor info #" + std::to_string(i) + " (name"});
    bounds.push_back({pos + 8 + m.tensors[i].name.size(),
                      "tensor '" + m.tensors[i].name + "' (dimension count)"});
    pos += 8 + m.tensors[i].name.size() + 4 + 8 * m.tensors[i].dims.size() + 4 + 8;
  }
  EXPECT_EQ((pos + 31) / 32 * 32, f->data_offset());
  bounds.push_back({pos, pos == f->data_offset()
                             ? "tensor '" + m.tensors[0].name + "': data"
                             : "data section: starts at " + std::to_string(f->data_offset())});
  for (std::size_t i = 0; i < f->tensors().size(); ++i) {
    const GgufTensorInfo& t = f->tensors()[i];
    bounds.push_back({f->data_offset() + t.offset, "tensor '" + t.name + "': data"});
    bounds.push_back({f->data_offset() + t.offset + t.bytes - 1, "tensor '" + t.name + "': data"});
  }
  for (const auto& b : bounds) {
    SCOPED_TRACE("truncated at " + std::to_string(b.at));
    expect_parse_error(
        std::vector<std::uint8_t>(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(b.at)),
        {b.names});
  }
  // Every other length too (every byte of the header and tensor infos, then a stride through the
  // data, where only the lengths matter).
  for (std::uint64_t n = 0; n < end; n += n < f->data_offset() ? 1 : 61) {
    try {
      GgufFile::parse(
          std::vector<std::uint8_t>(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n)),
          "t.gguf");
      ADD_FAILURE() << "a file cut at " << n << " of " << end << " bytes parsed";
      break;
    } catch (const GgufError& e) {
      if (std::string(e.what()).rfind("t.gguf: ", 0) != 0) {
        ADD_FAILURE() << e.what();
        break;
      }
    }
  }
  // The trailing padding after the last tensor is not needed.
  EXPECT_NO_THROW(GgufFile::parse(
      std::vector<std::uint8_t>(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(end)),
      "t"));
}

// Random corruption of a valid model file: each attempt either loads (and every tensor reads) or
// fails with a GgufError naming the file. Nothing else may happen.
TEST(GgufBadInput, RandomByteFlipsAndTruncations) {
  TempDir tmp;
  ModelFile m(micro(), 4);
  const std::string path = tmp.path("r.gguf");
  m.write(path);
  const auto full = read_bytes(path);
  const std::uint64_t header_end = GgufFile::parse(full, "r")->data_offset();
  const std::uint64_t seed = 20240607;
  Rng rng(seed);
  int loaded = 0, refused = 0;
  for (int iter = 0; iter < 400; ++iter) {
    SCOPED_TRACE("seed " + std::to_string(seed) + ", iteration " + std::to_string(iter));
    auto b = full;
    const int flips = 1 + static_cast<int>(rng.below(4));
    for (int k = 0; k < flips; ++k) {
      // Mostly in the header, KVs and tensor infos, where the structure is.
      const std::uint64_t at = rng.below(4) != 0 ? rng.below(header_end) : rng.below(b.size());
      if (rng.below(2)) {
        b[at] ^= static_cast<std::uint8_t>(1u << rng.below(8));
      } else {
        b[at] = static_cast<std::uint8_t>(rng.next());
      }
    }
    if (rng.below(4) == 0) b.resize(rng.below(b.size()));
    try {
      const GgufSource s(GgufFile::parse(std::move(b), "r.gguf"));
      for (const auto& n : s.tensor_names()) {
        if (is_bitlinear_weight(n)) {
          s.ternary(n);
        } else {
          s.dense(n).to_float();
        }
      }
      ++loaded;
    } catch (const GgufError& e) {
      ++refused;
      ASSERT_EQ(std::string(e.what()).rfind("r.gguf: ", 0), 0u) << e.what();
    }
  }
  EXPECT_GT(refused, 100);
  EXPECT_GT(loaded, 10);  // flips in weight bytes and token text are legal
}

}  // namespace
}  // namespace tritbench::models
