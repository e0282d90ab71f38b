#include "models/gguf.h"

#include "models/file_map.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <limits>
#include <set>

namespace tritbench::models {

namespace {

constexpr std::uint32_t kMagic = 0x46554747;  // "GGUF" read as a little-endian u32
constexpr std::uint32_t kMaxDims = 4;
constexpr std::uint32_t kDefaultAlignment = 32;

std::string str(std::uint64_t v) { return std::to_string(v); }
std::string quote(const std::string& s) {
  // Names come from the file: show them printable and bounded.
  std::string out = "'";
  for (std::size_t i = 0; i < s.size() && i < 200; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  if (s.size() > 200) out += "...";
  return out + "'";
}

bool mul_overflows(std::uint64_t a, std::uint64_t b, std::uint64_t* out) {
  return __builtin_mul_overflow(a, b, out);
}
bool add_overflows(std::uint64_t a, std::uint64_t b, std::uint64_t* out) {
  return __builtin_add_overflow(a, b, out);
}

// Rounds v up to a multiple of a power of two; false on overflow.
bool align_up(std::uint64_t v, std::uint64_t a, std::uint64_t* out) {
  std::uint64_t t;
  if (add_overflows(v, a - 1, &t)) return false;
  *out = t & ~(a - 1);
  return true;
}

bool valid_type(std::uint32_t t) { return t <= static_cast<std::uint32_t>(GgufType::kFloat64); }

// Upstream ggml's names for tensor type ids, for error messages about files this reader does not
// support (a Q4_K llama file, say).
const char* ggml_type_name(std::uint32_t id) {
  static const char* const names[] = {"F32",
                                      "F16",
                                      "Q4_0",
                                      "Q4_1",
                                      "Q4_2 (removed)",
                                      "Q4_3 (removed)",
                                      "Q5_0",
                                      "Q5_1",
                                      "Q8_0",
                                      "Q8_1",
                                      "Q2_K",
                                      "Q3_K",
                                      "Q4_K",
                                      "Q5_K",
                                      "Q6_K",
                                      "Q8_K",
                                      "IQ2_XXS",
                                      "IQ2_XS",
                                      "IQ3_XXS",
                                      "IQ1_S",
                                      "IQ4_NL",
                                      "IQ3_S",
                                      "IQ2_S",
                                      "IQ4_XS",
                                      "I8",
                                      "I16",
                                      "I32",
                                      "I64",
                                      "F64",
                                      "IQ1_M",
                                      "BF16",
                                      "Q4_0_4_4",
                                      "Q4_0_4_8",
                                      "Q4_0_8_8",
                                      "TQ1_0",
                                      "TQ2_0",
                                      "IQ4_NL_4_4",
                                      "IQ4_NL_4_8",
                                      "IQ4_NL_8_8",
                                      "MXFP4"};
  return id < sizeof(names) / sizeof(names[0]) ? names[id] : nullptr;
}

// Tensor type ids. bitnet.cpp's ggml fork numbered its types 36..39 (I2_S, I8_S, TL1, TL2) before
// upstream ggml assigned the same ids to other formats (36..38 repacked IQ4_NL, since removed; 39
// MXFP4), so an id alone does not say what a tensor is. The file says: bitnet.cpp files carry a
// bitnet architecture ("bitnet-b1.58", "bitnet", ...) and/or general.file_type 40 (its I2_S file
// type; 38 and 39 are its TL1 / TL2 file types but 38 also means MXFP4_MOE upstream, so only 40 is
// taken as proof on its own). Ids 0, 1, 8, 30, 34, 35 mean the same in both.
bool to_dtype(std::uint32_t id, bool bitnet_ids, DType* out) {
  switch (id) {
    case 0:
      *out = DType::kF32;
      return true;
    case 1:
      *out = DType::kF16;
      return true;
    case 8:
      *out = DType::kQ8_0;
      return true;
    case 30:
      *out = DType::kBF16;
      return true;
    case 34:
      *out = DType::kTQ1_0;
      return true;
    case 35:
      *out = DType::kTQ2_0;
      return true;
    default:
      break;
  }
  if (bitnet_ids && id >= 36 && id <= 39) {
    *out = static_cast<DType>(id);
    return true;
  }
  return false;
}

// Bounds-checked reading of the mapped bytes. Every read checks the remaining length first.
class Cursor {
 public:
  Cursor(const std::uint8_t* p, std::uint64_t size, const std::string& path)
      : p_(p), size_(size), path_(path) {}

  std::uint64_t pos() const { return pos_; }
  std::uint64_t remaining() const { return size_ - pos_; }

  void need(std::uint64_t n, const std::string& what) const {
    if (n > size_ - pos_)
      throw GgufError(path_ + ": " + what + ": needs " + str(n) + " bytes at offset " + str(pos_) +
                      " but the file ends at " + str(size_) + " (truncated file?)");
  }
  template <class T>
  T read(const std::string& what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, p_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  const std::uint8_t* take(std::uint64_t n, const std::string& what) {
    need(n, what);
    const std::uint8_t* q = p_ + pos_;
    pos_ += n;
    return q;
  }
  std::string read_string(const std::string& what) {
    const auto len = read<std::uint64_t>(what + " (string length)");
    if (len > remaining())
      throw GgufError(path_ + ": " + what + ": string length " + str(len) + " at offset " +
                      str(pos_ - 8) + " exceeds the " + str(remaining()) +
                      " bytes left in the file (expected a length <= " + str(remaining()) + ")");
    const std::uint8_t* q = take(len, what);
    return std::string(reinterpret_cast<const char*>(q), static_cast<std::size_t>(len));
  }

 private:
  const std::uint8_t* p_;
  std::uint64_t size_;
  std::uint64_t pos_ = 0;
  const std::string& path_;
};

}  // namespace

// ------------------------------------------------------------------------------------------------
// Types and values

const char* gguf_type_name(GgufType t) {
  switch (t) {
    case GgufType::kUint8:
      return "uint8";
    case GgufType::kInt8:
      return "int8";
    case GgufType::kUint16:
      return "uint16";
    case GgufType::kInt16:
      return "int16";
    case GgufType::kUint32:
      return "uint32";
    case GgufType::kInt32:
      return "int32";
    case GgufType::kFloat32:
      return "float32";
    case GgufType::kBool:
      return "bool";
    case GgufType::kString:
      return "string";
    case GgufType::kArray:
      return "array";
    case GgufType::kUint64:
      return "uint64";
    case GgufType::kInt64:
      return "int64";
    case GgufType::kFloat64:
      return "float64";
  }
  return "unknown";
}

std::size_t gguf_scalar_size(GgufType t) {
  switch (t) {
    case GgufType::kUint8:
    case GgufType::kInt8:
    case GgufType::kBool:
      return 1;
    case GgufType::kUint16:
    case GgufType::kInt16:
      return 2;
    case GgufType::kUint32:
    case GgufType::kInt32:
    case GgufType::kFloat32:
      return 4;
    case GgufType::kUint64:
    case GgufType::kInt64:
    case GgufType::kFloat64:
      return 8;
    default:
      return 0;
  }
}

namespace {

bool integer_type(GgufType t) {
  switch (t) {
    case GgufType::kUint8:
    case GgufType::kInt8:
    case GgufType::kUint16:
    case GgufType::kInt16:
    case GgufType::kUint32:
    case GgufType::kInt32:
    case GgufType::kUint64:
    case GgufType::kInt64:
      return true;
    default:
      return false;
  }
}
bool signed_type(GgufType t) {
  return t == GgufType::kInt8 || t == GgufType::kInt16 || t == GgufType::kInt32 ||
         t == GgufType::kInt64;
}

// Sign-extends the zero-extended little-endian bits of a signed scalar of `size` bytes.
std::int64_t sign_extend(std::uint64_t bits, std::size_t size) {
  if (size == 8) return static_cast<std::int64_t>(bits);
  const std::uint64_t sign = 1ull << (8 * size - 1);
  return static_cast<std::int64_t>((bits ^ sign)) - static_cast<std::int64_t>(sign);
}

// Reads element i of a scalar array / a scalar as double or integers.
std::uint64_t load_bits(const std::uint8_t* p, std::size_t size) {
  std::uint64_t v = 0;
  std::memcpy(&v, p, size);  // little-endian host (x86-64)
  return v;
}

double bits_to_float(std::uint64_t bits, GgufType t) {
  if (t == GgufType::kFloat32) {
    float f;
    const auto b = static_cast<std::uint32_t>(bits);
    std::memcpy(&f, &b, 4);
    return f;
  }
  double d;
  std::memcpy(&d, &bits, 8);
  return d;
}

}  // namespace

GgufValue GgufValue::scalar(GgufType t, std::uint64_t bits) {
  GgufValue v;
  v.type_ = t;
  v.bits_ = bits;
  return v;
}
GgufValue GgufValue::f32(float f) {
  std::uint32_t b;
  std::memcpy(&b, &f, 4);
  return scalar(GgufType::kFloat32, b);
}
GgufValue GgufValue::f64(double d) {
  std::uint64_t b;
  std::memcpy(&b, &d, 8);
  return scalar(GgufType::kFloat64, b);
}
GgufValue GgufValue::string(std::string s) {
  GgufValue v;
  v.type_ = GgufType::kString;
  v.str_ = std::move(s);
  return v;
}
GgufValue GgufValue::array(GgufType elem, std::uint64_t count, std::vector<std::uint8_t> raw) {
  const std::size_t size = gguf_scalar_size(elem);
  if (size == 0)
    throw std::invalid_argument(std::string("GGUF array of ") + gguf_type_name(elem) +
                                ": only arrays of scalars (array_of) or strings (array_strings)");
  if (raw.size() / size != count || raw.size() % size != 0)
    throw std::invalid_argument("GGUF array: " + str(raw.size()) + " bytes for " + str(count) +
                                " " + gguf_type_name(elem) + " elements");
  GgufValue v;
  v.type_ = GgufType::kArray;
  v.elem_ = elem;
  v.count_ = count;
  v.raw_ = std::move(raw);
  return v;
}
GgufValue GgufValue::array_strings(std::vector<std::string> s) {
  GgufValue v;
  v.type_ = GgufType::kArray;
  v.elem_ = GgufType::kString;
  v.count_ = s.size();
  v.strs_ = std::move(s);
  return v;
}

std::string GgufValue::type_str() const {
  if (type_ != GgufType::kArray) return gguf_type_name(type_);
  return std::string("array[") + gguf_type_name(elem_) + "]";
}

bool GgufValue::is_integer() const { return integer_type(type_); }
bool GgufValue::is_float() const {
  return type_ == GgufType::kFloat32 || type_ == GgufType::kFloat64;
}

std::int64_t GgufValue::as_int() const {
  if (!is_integer())
    throw std::invalid_argument("has type " + type_str() + ", expected an integer");
  if (signed_type(type_)) return sign_extend(bits_, gguf_scalar_size(type_));
  if (bits_ > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
    throw std::invalid_argument("is " + str(bits_) + ", expected a value below 2^63");
  return static_cast<std::int64_t>(bits_);
}
std::uint64_t GgufValue::as_uint() const {
  if (!is_integer())
    throw std::invalid_argument("has type " + type_str() + ", expected an integer");
  if (signed_type(type_)) {
    const std::int64_t v = sign_extend(bits_, gguf_scalar_size(type_));
    if (v < 0) throw std::invalid_argument("is " + std::to_string(v) + ", expected a value >= 0");
    return static_cast<std::uint64_t>(v);
  }
  return bits_;
}
double GgufValue::as_float() const {
  if (!is_float())
    throw std::invalid_argument("has type " + type_str() + ", expected float32 or float64");
  return bits_to_float(bits_, type_);
}
bool GgufValue::as_bool() const {
  if (type_ != GgufType::kBool)
    throw std::invalid_argument("has type " + type_str() + ", expected bool");
  return bits_ != 0;
}
const std::string& GgufValue::as_string() const {
  if (type_ != GgufType::kString)
    throw std::invalid_argument("has type " + type_str() + ", expected string");
  return str_;
}
const std::vector<std::string>& GgufValue::as_strings() const {
  if (type_ != GgufType::kArray || elem_ != GgufType::kString)
    throw std::invalid_argument("has type " + type_str() + ", expected array[string]");
  return strs_;
}
std::vector<std::int64_t> GgufValue::as_ints() const {
  if (type_ != GgufType::kArray || !integer_type(elem_))
    throw std::invalid_argument("has type " + type_str() + ", expected an array of integers");
  const std::size_t size = gguf_scalar_size(elem_);
  std::vector<std::int64_t> out(static_cast<std::size_t>(count_));
  for (std::size_t i = 0; i < out.size(); ++i) {
    const std::uint64_t b = load_bits(raw_.data() + i * size, size);
    if (signed_type(elem_)) {
      out[i] = sign_extend(b, size);
    } else if (b > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      throw std::invalid_argument("element " + str(i) + " is " + str(b) +
                                  ", expected a value below 2^63");
    } else {
      out[i] = static_cast<std::int64_t>(b);
    }
  }
  return out;
}
std::vector<float> GgufValue::as_floats() const {
  if (type_ != GgufType::kArray || (elem_ != GgufType::kFloat32 && elem_ != GgufType::kFloat64))
    throw std::invalid_argument("has type " + type_str() + ", expected array[float32]");
  const std::size_t size = gguf_scalar_size(elem_);
  std::vector<float> out(static_cast<std::size_t>(count_));
  for (std::size_t i = 0; i < out.size(); ++i)
    out[i] = static_cast<float>(bits_to_float(load_bits(raw_.data() + i * size, size), elem_));
  return out;
}

std::uint64_t GgufValue::encoded_size() const {
  std::uint64_t n = 4;  // type id
  switch (type_) {
    case GgufType::kString:
      return n + 8 + str_.size();
    case GgufType::kArray:
      n += 4 + 8;
      if (elem_ == GgufType::kString) {
        for (const auto& s : strs_) n += 8 + s.size();
      } else {
        n += raw_.size();
      }
      return n;
    default:
      return n + gguf_scalar_size(type_);
  }
}

// ------------------------------------------------------------------------------------------------
// Tensor sizes

std::uint64_t gguf_tensor_bytes(DType type, std::span<const std::int64_t> dims) {
  if (dims.empty() || dims.size() > kMaxDims)
    throw std::invalid_argument(str(dims.size()) + " dimensions (expected 1 to 4)");
  std::uint64_t ne = 1;
  for (std::size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] <= 0)
      throw std::invalid_argument("dimension " + str(i) + " is " + std::to_string(dims[i]) +
                                  " (expected > 0)");
    if (mul_overflows(ne, static_cast<std::uint64_t>(dims[i]), &ne) ||
        ne > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      throw std::invalid_argument(
          "the element count overflows 64 bits (expected a product of dimensions below 2^63)");
  }
  const auto K = static_cast<std::uint64_t>(dims[0]);
  const std::uint64_t M = ne / K;
  std::uint64_t bytes = 0;
  auto blocks = [&](std::uint64_t block, std::uint64_t block_bytes) {
    if (K % block != 0)
      throw std::invalid_argument(std::string(dtype_name(type)) + " needs dims[0] (" + str(K) +
                                  ") to be a multiple of " + str(block));
    if (mul_overflows(ne / block, block_bytes, &bytes))
      throw std::invalid_argument("the byte size overflows 64 bits");
  };
  auto elements = [&](std::uint64_t size) {
    if (mul_overflows(ne, size, &bytes))
      throw std::invalid_argument("the byte size overflows 64 bits");
  };
  switch (type) {
    case DType::kF32:
      elements(4);
      break;
    case DType::kF16:
    case DType::kBF16:
      elements(2);
      break;
    case DType::kQ8_0:
      blocks(32, 34);
      break;
    case DType::kTQ1_0:
      blocks(256, 54);
      break;
    case DType::kTQ2_0:
      blocks(256, 66);
      break;
    case DType::kI2_S:
      if (ne % 128 != 0)
        throw std::invalid_argument("I2_S needs an element count that is a multiple of 128 (has " +
                                    str(ne) + ")");
      bytes = ne / 4 + 32;
      break;
    case DType::kTL1:
      if (ne % 4 != 0)
        throw std::invalid_argument("TL1 needs an element count that is a multiple of 4 (has " +
                                    str(ne) + ")");
      bytes = ne / 4 + 32;
      break;
    case DType::kTL2: {
      // ((K-256)*M)/3*5/8 + 256*M/2*4/8, rounded up to 32, + 32: C integer arithmetic, left to
      // right.
      if (K < 256) throw std::invalid_argument("TL2 needs dims[0] >= 256 (has " + str(K) + ")");
      std::uint64_t a, b;
      if (mul_overflows(K - 256, M, &a) || mul_overflows(a / 3, 5, &a) ||
          mul_overflows(256, M, &b) || mul_overflows(b / 2, 4, &b) ||
          add_overflows(a / 8, b / 8, &bytes) || !align_up(bytes, 32, &bytes) ||
          add_overflows(bytes, 32, &bytes))
        throw std::invalid_argument("the TL2 byte size overflows 64 bits");
      break;
    }
    case DType::kI8_S:
      throw std::invalid_argument(
          "I8_S is bitnet.cpp's activation type and is never stored in a file");
    default:
      throw std::invalid_argument("type id " + str(static_cast<std::uint32_t>(type)) +
                                  " is not a tensor type");
  }
  return bytes;
}

std::int64_t GgufTensorInfo::elements() const {
  std::int64_t n = 1;
  for (auto d : dims) n *= d;  // checked when the file was read
  return n;
}

std::string GgufTensorInfo::shape_str() const {
  std::string s = "[";
  for (std::size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + "]";
}

// ------------------------------------------------------------------------------------------------
// Reader

namespace {

}  // namespace

std::shared_ptr<const GgufFile> GgufFile::open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw GgufError(path + ": cannot open: " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    throw GgufError(path + ": cannot stat: " + std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    throw GgufError(path + ": not a regular file (expected a GGUF model file)");
  }
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (size < 24) {
    ::close(fd);
    throw GgufError(path + ": header: the file has " + str(size) +
                    " bytes, expected at least 24 (magic, version, tensor and KV counts)");
  }
  auto map = std::make_shared<FileMap>();
  map->addr = ::mmap(nullptr, static_cast<std::size_t>(size), PROT_READ, MAP_PRIVATE, fd, 0);
  const int err = errno;
  ::close(fd);
  if (map->addr == MAP_FAILED) {
    map->addr = nullptr;
    throw GgufError(path + ": cannot mmap " + str(size) + " bytes: " + std::strerror(err));
  }
  map->size = static_cast<std::size_t>(size);
  std::shared_ptr<GgufFile> f(new GgufFile());
  f->path_ = path;
  f->mapping_ = map;
  f->mmapped_ = true;
  f->parse_all(static_cast<const std::uint8_t*>(map->addr), size);
  return f;
}

std::shared_ptr<const GgufFile> GgufFile::parse(std::vector<std::uint8_t> bytes,
                                                const std::string& name) {
  auto buf = std::make_shared<std::vector<std::uint8_t>>(std::move(bytes));
  std::shared_ptr<GgufFile> f(new GgufFile());
  f->path_ = name;
  f->mapping_ = buf;
  f->parse_all(buf->data(), buf->size());
  return f;
}

void GgufFile::release(const std::uint8_t* p, std::uint64_t n) const {
  if (mmapped_) drop_file_pages(p, n);
}

void GgufFile::fail(const std::string& what) const { throw GgufError(path_ + ": " + what); }

void GgufFile::parse_all(const std::uint8_t* p, std::uint64_t file_size) {
  size_ = file_size;
  Cursor c(p, file_size, path_);
  const auto magic = c.read<std::uint32_t>("header (magic)");
  if (magic != kMagic) {
    std::string got(reinterpret_cast<const char*>(p), 4);
    fail("header: magic is " + quote(got) + ", expected 'GGUF' (not a GGUF file)");
  }
  version_ = c.read<std::uint32_t>("header (version)");
  if (version_ != 2 && version_ != 3)
    fail("header: version is " + str(version_) + ", expected 2 or 3" +
         (version_ == 1 ? " (GGUF v1 files are obsolete: re-convert the model)" : ""));
  const auto n_tensors = c.read<std::uint64_t>("header (tensor count)");
  const auto n_kv = c.read<std::uint64_t>("header (KV count)");
  // Every KV takes at least 8 (key length) + 4 (type) + 1 bytes and every tensor info at least
  // 8 + 4 + 8 + 4 + 8, so a count is plausible only up to what the rest of the file can hold. The
  // loops below stop at the first item that runs out of bytes (naming it); for an implausible count
  // the error also says that the count is the likely culprit. Nothing is reserved beyond that.
  const std::uint64_t after_header = c.remaining();
  auto count_hint = [&](const char* what, std::uint64_t n, std::uint64_t min_bytes) -> std::string {
    if (n <= after_header / min_bytes) return "";
    return std::string("; the header's ") + what + " " + str(n) + " cannot fit in the " +
           str(after_header) + " bytes that follow it (expected at most " +
           str(after_header / min_bytes) + ")";
  };
  const std::string kv_hint = count_hint("KV count", n_kv, 13);
  const std::string tensor_hint = count_hint("tensor count", n_tensors, 32);
  auto with_hint = [&](const GgufError& e, const std::string& hint) {
    return GgufError(e.what() + hint);
  };

  // KVs.
  kvs_.reserve(static_cast<std::size_t>(std::min(n_kv, after_header / 13)));
  try {
    for (std::uint64_t i = 0; i < n_kv; ++i) {
      const std::string where = "KV #" + str(i);
      std::string key = c.read_string(where + " (key)");
      const std::string field = "key " + quote(key);
      if (key.empty()) fail(where + ": empty key (expected a name such as 'general.architecture')");
      const auto type_id = c.read<std::uint32_t>(field + " (value type)");
      if (!valid_type(type_id))
        fail(field + ": unknown value type " + str(type_id) + " (expected 0..12)");
      GgufValue v;
      v.type_ = static_cast<GgufType>(type_id);
      auto read_scalar = [&](GgufType t, const std::string& what) {
        const std::size_t size = gguf_scalar_size(t);
        const std::uint64_t bits = load_bits(c.take(size, what), size);
        if (t == GgufType::kBool && bits > 1)
          fail(what + ": bool value is " + str(bits) + " (expected 0 or 1)");
        return bits;
      };
      if (v.type_ == GgufType::kString) {
        v.str_ = c.read_string(field);
      } else if (v.type_ == GgufType::kArray) {
        const auto elem = c.read<std::uint32_t>(field + " (array element type)");
        if (!valid_type(elem))
          fail(field + ": unknown array element type " + str(elem) + " (expected 0..12)");
        v.elem_ = static_cast<GgufType>(elem);
        if (v.elem_ == GgufType::kArray)
          fail(field +
               ": arrays of arrays are not supported (expected an array of scalars or strings)");
        v.count_ = c.read<std::uint64_t>(field + " (array length)");
        if (v.elem_ == GgufType::kString) {
          if (v.count_ > c.remaining() / 8)
            fail(field + ": array of " + str(v.count_) + " strings cannot fit in the " +
                 str(c.remaining()) + " bytes left (expected at most " + str(c.remaining() / 8) +
                 ")");
          v.strs_.reserve(static_cast<std::size_t>(v.count_));
          for (std::uint64_t j = 0; j < v.count_; ++j)
            v.strs_.push_back(c.read_string(field + "[" + str(j) + "]"));
        } else {
          const std::size_t size = gguf_scalar_size(v.elem_);
          std::uint64_t bytes;
          if (mul_overflows(v.count_, size, &bytes) || bytes > c.remaining())
            fail(field + ": array of " + str(v.count_) + " " + gguf_type_name(v.elem_) +
                 " cannot fit in the " + str(c.remaining()) + " bytes left (expected at most " +
                 str(c.remaining() / size) + " elements)");
          const std::uint8_t* q = c.take(bytes, field);
          if (v.elem_ == GgufType::kBool)
            for (std::uint64_t j = 0; j < v.count_; ++j)
              if (q[j] > 1)
                fail(field + "[" + str(j) + "]: bool value is " + str(q[j]) + " (expected 0 or 1)");
          v.raw_.assign(q, q + bytes);
        }
      } else {
        v.bits_ = read_scalar(v.type_, field + " (value)");
      }
      if (auto [it, fresh] = kv_index_.emplace(key, kvs_.size()); !fresh)
        fail(field + ": appears twice (KV #" + str(it->second) + " and #" + str(i) +
             "; expected unique keys)");
      kvs_.emplace_back(std::move(key), std::move(v));
    }
  } catch (const GgufError& e) {
    throw with_hint(e, kv_hint);
  }

  // Alignment.
  if (const GgufValue* a = find("general.alignment")) {
    if (a->type() != GgufType::kUint32)
      fail("key 'general.alignment' has type " + a->type_str() + ", expected uint32");
    const auto al = static_cast<std::uint32_t>(a->bits_);
    if (al == 0 || (al & (al - 1)) != 0)
      fail("key 'general.alignment' is " + str(al) + " (expected a power of two, e.g. 32)");
    alignment_ = al;
  } else {
    alignment_ = kDefaultAlignment;
  }

  // Which type ids? (See to_dtype.)
  bitnet_ids_ = false;
  if (const GgufValue* a = find("general.architecture"); a && a->type() == GgufType::kString)
    bitnet_ids_ = a->as_string().rfind("bitnet", 0) == 0;
  if (const GgufValue* ft = find("general.file_type"); ft && ft->is_integer() && ft->bits_ == 40)
    bitnet_ids_ = true;

  // Tensor infos.
  tensors_.reserve(static_cast<std::size_t>(std::min(n_tensors, after_header / 32)));
  try {
    for (std::uint64_t i = 0; i < n_tensors; ++i) {
      GgufTensorInfo t;
      t.name = c.read_string("tensor info #" + str(i) + " (name)");
      const std::string field = "tensor " + quote(t.name);
      const auto n_dims = c.read<std::uint32_t>(field + " (dimension count)");
      if (n_dims == 0 || n_dims > kMaxDims)
        fail(field + ": " + str(n_dims) + " dimensions (expected 1 to 4)");
      for (std::uint32_t d = 0; d < n_dims; ++d) {
        const auto v = c.read<std::uint64_t>(field + " (dimension " + str(d) + ")");
        if (v == 0 || v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
          fail(field + ": dimension " + str(d) + " is " + str(v) + " (expected 1 to 2^63-1)");
        t.dims.push_back(static_cast<std::int64_t>(v));
      }
      t.type_id = c.read<std::uint32_t>(field + " (type)");
      t.offset = c.read<std::uint64_t>(field + " (data offset)");
      if (!to_dtype(t.type_id, bitnet_ids_, &t.type)) {
        const char* n = ggml_type_name(t.type_id);
        std::string why = n ? std::string(" (ggml ") + n + ")" : std::string(" (unknown to ggml)");
        if (!bitnet_ids_ && t.type_id >= 36 && t.type_id <= 39)
          why += "; not a bitnet.cpp file (no bitnet architecture, file_type != 40), so id " +
                 str(t.type_id) + " has upstream ggml's meaning";
        fail(field + ": unsupported tensor type id " + str(t.type_id) + why +
             " (expected F32, F16, BF16, Q8_0, TQ1_0, TQ2_0, I2_S, TL1 or TL2)");
      }
      try {
        t.bytes = gguf_tensor_bytes(t.type, t.dims);
      } catch (const std::invalid_argument& e) {
        fail(field + " " + t.shape_str() + " of type " + dtype_name(t.type) + ": " + e.what());
      }
      if (t.offset % alignment_ != 0)
        fail(field + ": data offset " + str(t.offset) + " is not a multiple of the alignment " +
             str(alignment_) + " (general.alignment)");
      if (auto [it, fresh] = tensor_index_.emplace(t.name, tensors_.size()); !fresh)
        fail(field + ": appears twice (tensor infos #" + str(it->second) + " and #" + str(i) +
             "; expected unique names)");
      tensors_.push_back(std::move(t));
    }
  } catch (const GgufError& e) {
    throw with_hint(e, tensor_hint);
  }

  // Data section.
  if (!align_up(c.pos(), alignment_, &data_offset_)) fail("data section: offset overflows 64 bits");
  if (!tensors_.empty() && data_offset_ > size_)
    fail("data section: starts at " + str(data_offset_) + " (after the tensor infos, aligned to " +
         str(alignment_) + ") but the file has only " + str(size_) + " bytes (truncated file?)");
  for (auto& t : tensors_) {
    std::uint64_t begin, end;
    if (add_overflows(data_offset_, t.offset, &begin) || add_overflows(begin, t.bytes, &end) ||
        end > size_)
      fail("tensor " + quote(t.name) + ": data [" + str(t.offset) + ", " + str(t.offset) + "+" +
           str(t.bytes) + ") of the data section at " + str(data_offset_) +
           " lies outside the file (size " + str(size_) + "; " + dtype_name(t.type) + " " +
           t.shape_str() + " needs " + str(t.bytes) + " bytes)");
    t.data = p + begin;
  }
}

const GgufValue* GgufFile::find(const std::string& key) const {
  const auto it = kv_index_.find(key);
  return it == kv_index_.end() ? nullptr : &kvs_[it->second].second;
}

const GgufValue& GgufFile::get(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v) fail("key " + quote(key) + " is missing");
  return *v;
}

const GgufTensorInfo* GgufFile::tensor(const std::string& name) const {
  const auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

namespace {
template <class F>
auto typed(const GgufFile& f, const std::string& key, F&& fn) -> decltype(fn(f.get(key))) {
  const GgufValue& v = f.get(key);
  try {
    return fn(v);
  } catch (const std::invalid_argument& e) {
    f.fail("key " + quote(key) + " " + e.what());
  }
}
}  // namespace

std::int64_t GgufFile::get_int(const std::string& key) const {
  return typed(*this, key, [](const GgufValue& v) { return v.as_int(); });
}
std::int64_t GgufFile::get_int(const std::string& key, std::int64_t def) const {
  return has(key) ? get_int(key) : def;
}
double GgufFile::get_float(const std::string& key) const {
  return typed(*this, key, [](const GgufValue& v) { return v.as_float(); });
}
double GgufFile::get_float(const std::string& key, double def) const {
  return has(key) ? get_float(key) : def;
}
bool GgufFile::get_bool(const std::string& key, bool def) const {
  return has(key) ? typed(*this, key, [](const GgufValue& v) { return v.as_bool(); }) : def;
}
std::string GgufFile::get_string(const std::string& key) const {
  return typed(*this, key, [](const GgufValue& v) { return v.as_string(); });
}
std::string GgufFile::get_string(const std::string& key, const std::string& def) const {
  return has(key) ? get_string(key) : def;
}
std::vector<std::string> GgufFile::get_strings(const std::string& key) const {
  return typed(*this, key, [](const GgufValue& v) { return v.as_strings(); });
}
std::vector<std::int64_t> GgufFile::get_ints(const std::string& key) const {
  return typed(*this, key, [](const GgufValue& v) { return v.as_ints(); });
}
std::vector<float> GgufFile::get_floats(const std::string& key) const {
  return typed(*this, key, [](const GgufValue& v) { return v.as_floats(); });
}

// ------------------------------------------------------------------------------------------------
// Writer

namespace {

// Buffered writes to a file descriptor; throws GgufError naming the target path.
class FdWriter {
 public:
  FdWriter(int fd, const std::string& path) : fd_(fd), path_(path) { buf_.reserve(kBuf); }
  void write(const void* data, std::size_t n) {
    const auto* p = static_cast<const std::uint8_t*>(data);
    if (buf_.size() + n > kBuf) flush();
    if (n >= kBuf) {
      raw(p, n);
    } else {
      buf_.insert(buf_.end(), p, p + n);
    }
    written_ += n;
  }
  template <class T>
  void put(T v) {
    write(&v, sizeof(T));
  }
  void put_string(const std::string& s) {
    put<std::uint64_t>(s.size());
    write(s.data(), s.size());
  }
  void zeros(std::uint64_t n) {
    static const std::uint8_t z[64] = {};
    while (n > 0) {
      const std::size_t k = static_cast<std::size_t>(std::min<std::uint64_t>(n, sizeof(z)));
      write(z, k);
      n -= k;
    }
  }
  void flush() {
    raw(buf_.data(), buf_.size());
    buf_.clear();
  }
  std::uint64_t written() const { return written_; }

 private:
  static constexpr std::size_t kBuf = 1 << 20;
  void raw(const std::uint8_t* p, std::size_t n) {
    while (n > 0) {
      const ssize_t k = ::write(fd_, p, n);
      if (k < 0) {
        if (errno == EINTR) continue;
        throw GgufError(path_ + ": write failed: " + std::strerror(errno));
      }
      p += k;
      n -= static_cast<std::size_t>(k);
    }
  }
  int fd_;
  const std::string& path_;
  std::vector<std::uint8_t> buf_;
  std::uint64_t written_ = 0;
};

void write_value(FdWriter& w, const GgufValue& v) {
  w.put<std::uint32_t>(static_cast<std::uint32_t>(v.type()));
  switch (v.type()) {
    case GgufType::kString:
      w.put_string(v.as_string());
      return;
    case GgufType::kArray:
      w.put<std::uint32_t>(static_cast<std::uint32_t>(v.elem_type()));
      w.put<std::uint64_t>(v.count());
      if (v.elem_type() == GgufType::kString) {
        for (const auto& s : v.as_strings()) w.put_string(s);
      } else {
        w.write(v.raw().data(), v.raw().size());
      }
      return;
    default:
      break;
  }
  // Scalars: re-encode from the typed accessors (little-endian host).
  const std::size_t size = gguf_scalar_size(v.type());
  std::uint64_t bits = 0;
  if (v.is_float()) {
    if (v.type() == GgufType::kFloat32) {
      const float f = static_cast<float>(v.as_float());
      std::memcpy(&bits, &f, 4);
    } else {
      const double d = v.as_float();
      std::memcpy(&bits, &d, 8);
    }
  } else if (v.type() == GgufType::kBool) {
    bits = v.as_bool() ? 1 : 0;
  } else {
    bits = signed_type(v.type()) ? static_cast<std::uint64_t>(v.as_int()) : v.as_uint();
  }
  w.write(&bits, size);
}

class CountingSink : public GgufSink {
 public:
  CountingSink(FdWriter& w, const std::string& path) : w_(w), path_(path) {}
  void start(const std::string& name, std::uint64_t expected) {
    name_ = &name;
    expected_ = expected;
    got_ = 0;
  }
  void write(const void* data, std::size_t n) override {
    if (n > expected_ - got_)
      throw GgufError(path_ + ": tensor " + quote(*name_) + ": the writer supplied more than the " +
                      str(expected_) + " bytes its type and shape take");
    w_.write(data, n);
    got_ += n;
  }
  void finish() const {
    if (got_ != expected_)
      throw GgufError(path_ + ": tensor " + quote(*name_) + ": the writer supplied " + str(got_) +
                      " bytes, expected " + str(expected_));
  }

 private:
  FdWriter& w_;
  const std::string& path_;
  const std::string* name_ = nullptr;
  std::uint64_t expected_ = 0, got_ = 0;
};

}  // namespace

GgufWriter::GgufWriter(std::uint32_t alignment) : alignment_(alignment) {
  if (alignment == 0 || (alignment & (alignment - 1)) != 0)
    throw std::invalid_argument("GGUF alignment " + str(alignment) + " is not a power of two");
  if (alignment != kDefaultAlignment) add_kv("general.alignment", GgufValue::u32(alignment));
}

void GgufWriter::add_kv(const std::string& key, GgufValue value) {
  if (key.empty()) throw std::invalid_argument("GGUF key must not be empty");
  if (!keys_.emplace(key, kvs_.size()).second)
    throw std::invalid_argument("GGUF key '" + key + "' added twice");
  kvs_.emplace_back(key, std::move(value));
}

void GgufWriter::add_tensor(const std::string& name, DType type, std::vector<std::int64_t> dims) {
  std::uint64_t bytes;
  try {
    bytes = gguf_tensor_bytes(type, dims);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument("GGUF tensor '" + name + "': " + e.what());
  }
  if (!names_.emplace(name, tensors_.size()).second)
    throw std::invalid_argument("GGUF tensor '" + name + "' added twice");
  tensors_.push_back({name, type, std::move(dims), bytes});
}

std::uint64_t GgufWriter::file_bytes() const {
  std::uint64_t n = 4 + 4 + 8 + 8;
  for (const auto& [k, v] : kvs_) n += 8 + k.size() + v.encoded_size();
  for (const auto& t : tensors_) n += 8 + t.name.size() + 4 + 8 * t.dims.size() + 4 + 8;
  n = (n + alignment_ - 1) / alignment_ * alignment_;
  for (const auto& t : tensors_) n += (t.bytes + alignment_ - 1) / alignment_ * alignment_;
  return n;
}

void GgufWriter::write(const std::string& path, const Fill& fill) const {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    throw GgufError(path + ": cannot write: " + std::strerror(errno) + " (creating " + tmp + ")");
  bool closed = false;
  try {
    FdWriter w(fd, path);
    w.write("GGUF", 4);
    w.put<std::uint32_t>(3);
    w.put<std::uint64_t>(tensors_.size());
    w.put<std::uint64_t>(kvs_.size());
    for (const auto& [k, v] : kvs_) {
      w.put_string(k);
      write_value(w, v);
    }
    std::uint64_t offset = 0;
    for (const auto& t : tensors_) {
      w.put_string(t.name);
      w.put<std::uint32_t>(static_cast<std::uint32_t>(t.dims.size()));
      for (auto d : t.dims) w.put<std::uint64_t>(static_cast<std::uint64_t>(d));
      w.put<std::uint32_t>(static_cast<std::uint32_t>(t.type));
      w.put<std::uint64_t>(offset);
      offset += (t.bytes + alignment_ - 1) / alignment_ * alignment_;
    }
    auto pad = [&] { w.zeros((alignment_ - w.written() % alignment_) % alignment_); };
    pad();
    CountingSink sink(w, path);
    for (std::size_t i = 0; i < tensors_.size(); ++i) {
      sink.start(tensors_[i].name, tensors_[i].bytes);
      fill(i, sink);
      sink.finish();
      pad();
    }
    w.flush();
    if (w.written() != file_bytes())
      throw GgufError(path + ": wrote " + str(w.written()) + " bytes, expected " +
                      str(file_bytes()));
    if (::fsync(fd) != 0) throw GgufError(path + ": fsync failed: " + std::strerror(errno));
    closed = true;
    if (::close(fd) != 0) throw GgufError(path + ": close failed: " + std::strerror(errno));
    if (::rename(tmp.c_str(), path.c_str()) != 0)
      throw GgufError(path + ": cannot rename " + tmp + " to it: " + std::strerror(errno));
  } catch (...) {
    if (!closed) ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
}

}  // namespace tritbench::models
