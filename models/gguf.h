#pragma once
// GGUF files: a reader over mmap that trusts nothing, and a streaming writer.
//
// Layout (little-endian; versions 2 and 3 are the same on disk, version 1 used 32-bit counts and is
// refused):
//
//   "GGUF" u32 version | u64 n_tensors | u64 n_kv
//   n_kv x    { string key | u32 value type | value }
//   n_tensors x { string name | u32 n_dims | u64 dims[n_dims] | u32 tensor type | u64 offset }
//   zero padding to general.alignment (default 32)
//   data section: each tensor at data_start + offset, offsets multiples of the alignment
//
// string = u64 length + bytes (no terminator); array = u32 element type + u64 count + elements.
// dims are ggml's ne[]: dims[0] is the innermost (contiguous) dimension, so an M x K row-major
// matrix has dims {K, M}.
//
// Why the reader is paranoid: model files come from the internet, and every length, count and
// offset in them is an attacker-controlled 64-bit number. Each one is checked against the bytes
// that remain before it is used, with overflow-safe arithmetic, so a corrupt file ends in a
// GgufError naming the file, the field and what was expected, never in a crash, a hang or an
// allocation of petabytes. Nothing is read outside the mapping.
//
// Why the writer streams: a 100B model is 27 GB of I2_S, more than some machines have RAM. All
// sizes are known from the shapes, so the header, KVs and tensor infos are written first and each
// tensor's bytes follow one at a time from a callback. It writes to a temporary file next to the
// target and renames it at the end, so a failed or killed write never leaves a partial file at the
// target path (nor replaces the previous one).

#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "models/weights.h"

namespace tritbench::models {

// Every failure to read or write a GGUF file. The message starts with the file path.
struct GgufError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// KV value types (gguf_type).
enum class GgufType : std::uint32_t {
  kUint8 = 0,
  kInt8 = 1,
  kUint16 = 2,
  kInt16 = 3,
  kUint32 = 4,
  kInt32 = 5,
  kFloat32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kUint64 = 10,
  kInt64 = 11,
  kFloat64 = 12,
};
const char* gguf_type_name(GgufType t);  // "uint32", "array", ...; "unknown" for bad ids
// Bytes of one scalar element; 0 for string, array and unknown ids.
std::size_t gguf_scalar_size(GgufType t);

// One KV value: a scalar, a string, or an array of scalars or strings (arrays of arrays are legal
// GGUF but used by no model file and refused by ggml's own reader, so they are refused here too).
class GgufValue {
 public:
  GgufValue() = default;
  static GgufValue u8(std::uint8_t v) { return scalar(GgufType::kUint8, v); }
  static GgufValue i8(std::int8_t v) {
    return scalar(GgufType::kInt8, static_cast<std::uint8_t>(v));
  }
  static GgufValue u16(std::uint16_t v) { return scalar(GgufType::kUint16, v); }
  static GgufValue i16(std::int16_t v) {
    return scalar(GgufType::kInt16, static_cast<std::uint16_t>(v));
  }
  static GgufValue u32(std::uint32_t v) { return scalar(GgufType::kUint32, v); }
  static GgufValue i32(std::int32_t v) {
    return scalar(GgufType::kInt32, static_cast<std::uint32_t>(v));
  }
  static GgufValue u64(std::uint64_t v) { return scalar(GgufType::kUint64, v); }
  static GgufValue i64(std::int64_t v) {
    return scalar(GgufType::kInt64, static_cast<std::uint64_t>(v));
  }
  static GgufValue f32(float v);
  static GgufValue f64(double v);
  static GgufValue boolean(bool v) { return scalar(GgufType::kBool, v ? 1 : 0); }
  static GgufValue string(std::string v);
  // An array of scalars from raw little-endian element bytes (count * gguf_scalar_size(elem)).
  static GgufValue array(GgufType elem, std::uint64_t count, std::vector<std::uint8_t> raw);
  static GgufValue array_strings(std::vector<std::string> v);
  template <class T>
  static GgufValue array_of(GgufType elem, std::span<const T> v) {
    if (gguf_scalar_size(elem) != sizeof(T))
      throw std::invalid_argument("GgufValue::array_of: element size");
    std::vector<std::uint8_t> raw(v.size_bytes());
    if (!raw.empty()) std::memcpy(raw.data(), v.data(), raw.size());
    return array(elem, v.size(), std::move(raw));
  }

  GgufType type() const { return type_; }
  GgufType elem_type() const { return elem_; }  // arrays only
  bool is_array() const { return type_ == GgufType::kArray; }
  std::uint64_t count() const { return count_; }  // arrays only
  std::string type_str() const;                   // "uint32", "array[string]"

  // Scalars. Each throws std::invalid_argument (callers add the key) if the type does not fit.
  bool is_integer() const;        // uint8..int64 (not bool)
  bool is_float() const;          // float32 / float64
  std::int64_t as_int() const;    // any integer type whose value fits int64
  std::uint64_t as_uint() const;  // any integer type whose value is >= 0
  double as_float() const;        // float32 / float64
  bool as_bool() const;
  const std::string& as_string() const;
  // Arrays.
  const std::vector<std::string>& as_strings() const;
  std::vector<std::int64_t> as_ints() const;                     // integer arrays
  std::vector<float> as_floats() const;                          // float32 / float64 arrays
  const std::vector<std::uint8_t>& raw() const { return raw_; }  // scalar array bytes

  // Serialized size in bytes (the type id and the payload, without the key).
  std::uint64_t encoded_size() const;
  bool operator==(const GgufValue&) const = default;

 private:
  static GgufValue scalar(GgufType t, std::uint64_t bits);
  friend class GgufFile;
  GgufType type_ = GgufType::kUint8;
  GgufType elem_ = GgufType::kUint8;
  std::uint64_t bits_ = 0;  // scalar payload, zero-extended little-endian bits
  std::uint64_t count_ = 0;
  std::string str_;
  std::vector<std::uint8_t> raw_;  // scalar arrays
  std::vector<std::string> strs_;  // string arrays
};

// Tensor bytes of a given type and ggml dims, with bitnet.cpp's ids (spec/bitnet-formats.md
// section 2): I2_S and TL1 M*K/4 + 32; TL2 ((K-256)*M)/3*5/8 + 256*M/2*4/8 rounded up to 32, + 32;
// TQ1_0 / TQ2_0 54 / 66 per 256; Q8_0 34 per 32 (along dims[0]). Throws std::invalid_argument (with
// the reason; callers add file and tensor) when the shape does not fit the type, the type is not a
// storable tensor type (I8_S) or the size overflows 64 bits.
std::uint64_t gguf_tensor_bytes(DType type, std::span<const std::int64_t> dims);

struct GgufTensorInfo {
  std::string name;
  std::uint32_t type_id = 0;  // as stored
  DType type = DType::kF32;
  std::vector<std::int64_t> dims;  // ggml order: dims[0] innermost
  std::uint64_t offset = 0;        // relative to the data section
  std::uint64_t bytes = 0;
  const std::uint8_t* data = nullptr;  // inside the mapping

  std::int64_t elements() const;
  // As a matrix: cols = dims[0], rows = product of the other dims (1 for vectors).
  std::int64_t cols() const { return dims.empty() ? 1 : dims[0]; }
  std::int64_t rows() const { return cols() == 0 ? 0 : elements() / cols(); }
  std::string shape_str() const;  // "[2560, 6912]" (ggml order)
};

// A parsed GGUF file. Open it with GgufFile::open (mmap) or GgufFile::parse (bytes in memory, for
// tests and fuzzing). Tensor data pointers stay valid as long as the GgufFile or mapping() lives.
class GgufFile {
 public:
  static std::shared_ptr<const GgufFile> open(const std::string& path);
  // `name` is used in error messages in place of a path.
  static std::shared_ptr<const GgufFile> parse(std::vector<std::uint8_t> bytes,
                                               const std::string& name);

  const std::string& path() const { return path_; }
  std::uint32_t version() const { return version_; }
  std::uint64_t file_size() const { return size_; }
  std::uint32_t alignment() const { return alignment_; }
  std::uint64_t data_offset() const { return data_offset_; }
  // True when tensor ids 34..39 are read with bitnet.cpp's meaning (see gguf.cpp).
  bool bitnet_type_ids() const { return bitnet_ids_; }

  // KVs in file order.
  const std::vector<std::pair<std::string, GgufValue>>& kvs() const { return kvs_; }
  const GgufValue* find(const std::string& key) const;
  bool has(const std::string& key) const { return find(key) != nullptr; }
  // Typed lookups; a missing key or a wrong type throws GgufError naming file, key and expectation.
  const GgufValue& get(const std::string& key) const;
  std::int64_t get_int(const std::string& key) const;
  std::int64_t get_int(const std::string& key, std::int64_t def) const;  // def if missing
  double get_float(const std::string& key) const;
  double get_float(const std::string& key, double def) const;
  bool get_bool(const std::string& key, bool def) const;
  std::string get_string(const std::string& key) const;
  std::string get_string(const std::string& key, const std::string& def) const;
  std::vector<std::string> get_strings(const std::string& key) const;
  std::vector<std::int64_t> get_ints(const std::string& key) const;
  std::vector<float> get_floats(const std::string& key) const;

  // Tensors in file order.
  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* tensor(const std::string& name) const;  // nullptr if absent
  // Pins the bytes (mapping or buffer) for views that outlive this object.
  std::shared_ptr<const void> mapping() const { return mapping_; }
  // Drops this process's pages of [p, p + n) (whole pages inside the range) when the file is
  // mmapped: they are re-read from the page cache on the next access, so nothing changes but the
  // resident set. A no-op for files parsed from memory.
  void release(const std::uint8_t* p, std::uint64_t n) const;

  // "m.gguf: key 'x'" style prefixes for callers' own errors.
  [[noreturn]] void fail(const std::string& what) const;

 private:
  GgufFile() = default;
  void parse_all(const std::uint8_t* p, std::uint64_t size);

  std::string path_;
  std::uint32_t version_ = 0;
  std::uint64_t size_ = 0;
  std::uint32_t alignment_ = 32;
  std::uint64_t data_offset_ = 0;
  bool bitnet_ids_ = false;
  std::vector<std::pair<std::string, GgufValue>> kvs_;
  std::map<std::string, std::size_t> kv_index_;
  std::vector<GgufTensorInfo> tensors_;
  std::map<std::string, std::size_t> tensor_index_;
  std::shared_ptr<const void> mapping_;
  bool mmapped_ = false;
};

// Receives one tensor's bytes during GgufWriter::write, in any number of pieces.
class GgufSink {
 public:
  virtual ~GgufSink() = default;
  virtual void write(const void* data, std::size_t n) = 0;
};

// Builds a GGUF file: declare KVs and tensors, then write() streams everything to `path`.
class GgufWriter {
 public:
  explicit GgufWriter(std::uint32_t alignment = 32);

  // Keys must be unique (std::invalid_argument otherwise). A non-default alignment is recorded as
  // general.alignment automatically.
  void add_kv(const std::string& key, GgufValue value);
  // dims in ggml order (dims[0] innermost); byte size from gguf_tensor_bytes. Names must be unique.
  void add_tensor(const std::string& name, DType type, std::vector<std::int64_t> dims);

  std::size_t n_tensors() const { return tensors_.size(); }
  const std::string& tensor_name(std::size_t i) const { return tensors_[i].name; }
  std::uint64_t tensor_bytes(std::size_t i) const { return tensors_[i].bytes; }
  // Size of the file write() produces.
  std::uint64_t file_bytes() const;

  // Writes the file: header, KVs, tensor infos, then fill(i, sink) for each tensor i in declaration
  // order, which must write exactly tensor_bytes(i) bytes. On any failure (including an exception
  // from fill) the temporary file is removed, the target is left as it was, and the error is
  // rethrown (I/O errors and wrong sizes as GgufError naming the path).
  using Fill = std::function<void(std::size_t index, GgufSink& sink)>;
  void write(const std::string& path, const Fill& fill) const;

 private:
  struct Tensor {
    std::string name;
    DType type;
    std::vector<std::int64_t> dims;
    std::uint64_t bytes;
  };
  std::uint32_t alignment_;
  std::vector<std::pair<std::string, GgufValue>> kvs_;
  std::map<std::string, std::size_t> keys_;
  std::vector<Tensor> tensors_;
  std::map<std::string, std::size_t> names_;
};

}  // namespace tritbench::models
