#pragma once
// Hugging Face safetensors checkpoints, read without Python.
//
// File layout (little-endian):
//
//   u64 N | N bytes of JSON header | data buffer (the rest of the file)
//
//   header = { "__metadata__": {string: string}   (optional)
//              "<tensor name>": { "dtype": "BF16", "shape": [d0, d1, ...],
//                                 "data_offsets": [begin, end] }, ... }
//
// Offsets are relative to the data buffer; shapes are row-major (d0 outermost), so a PyTorch
// Linear weight [out, in] is an out x in row-major matrix, the canonical TernaryMatrix order.
//
// Why every number is checked: the header is untrusted JSON in a file from the internet. Each entry
// must have a known dtype, a shape of non-negative integers whose element count times the dtype
// size (overflow-checked) equals end - begin, and offsets inside the data buffer; no two tensors
// may overlap, names must be unique (a JSON object with a repeated key is refused, not silently
// collapsed), and the header itself must fit in the file. A bad file ends in a SafetensorsError
// naming the file, the tensor and the field, never in a read outside the mapping.
//
// A checkpoint is a folder: a single model.safetensors, or shards listed by
// model.safetensors.index.json ({"weight_map": {tensor: shard file}}). Every shard named by the
// index is opened once; every tensor the index names must exist in its shard.

#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace tritbench::models {

struct SafetensorsError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The dtypes of the safetensors format. Only BF16, F16, F32, U8 and I8 are read as data by this
// project; the others are parsed (so a file holding them is still validated) and refused by name
// when a loader asks for them.
enum class StDType {
  kBool,
  kU8,
  kI8,
  kF8E4M3,
  kF8E5M2,
  kI16,
  kU16,
  kF16,
  kBF16,
  kI32,
  kU32,
  kF32,
  kF64,
  kI64,
  kU64
};
const char* st_dtype_name(StDType t);
std::size_t st_dtype_size(StDType t);
bool st_dtype_readable(StDType t);  // BF16, F16, F32, U8, I8

struct StTensor {
  std::string name;
  StDType dtype = StDType::kF32;
  std::vector<std::int64_t> shape;     // row-major, outermost first; empty for a scalar
  std::uint64_t begin = 0, end = 0;    // byte offsets in the data buffer
  const std::uint8_t* data = nullptr;  // inside the mapping
  std::string file;                    // the file it is in (for error messages)

  std::int64_t elements() const;  // product of shape (1 for a scalar)
  std::uint64_t bytes() const { return end - begin; }
  std::string shape_str() const;  // "[640, 2560]"
  // Element i converted to float (BF16/F16/F32/U8/I8); throws for other dtypes.
  float get(std::int64_t i) const;
  // Elements [i0, i0 + n) as floats (same dtypes as get).
  void to_float(std::int64_t i0, std::int64_t n, float* out) const;
};

class SafetensorsFile {
 public:
  // mmap; throws SafetensorsError naming the path.
  static std::shared_ptr<const SafetensorsFile> open(const std::string& path);
  // From bytes in memory; `name` stands for the path in error messages.
  static std::shared_ptr<const SafetensorsFile> parse(std::vector<std::uint8_t> bytes,
                                                      const std::string& name);

  const std::string& path() const { return path_; }
  const std::vector<StTensor>& tensors() const { return tensors_; }  // in header order
  const StTensor* find(const std::string& name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  std::shared_ptr<const void> mapping() const { return mapping_; }
  // Drops this process's pages of t's bytes when the file is mmapped (see GgufFile::release);
  // a no-op for files parsed from memory.
  void release(const StTensor& t) const;

 private:
  SafetensorsFile() = default;
  void parse_all(const std::uint8_t* p, std::uint64_t size);
  [[noreturn]] void fail(const std::string& what) const;

  std::string path_;
  std::vector<StTensor> tensors_;
  std::map<std::string, std::size_t> index_;
  std::map<std::string, std::string> metadata_;
  std::shared_ptr<const void> mapping_;
  bool mmapped_ = false;
};

// Writes a safetensors file (for tests and tools): tensors in the given order, packed back to back,
// header padded with spaces to a multiple of 8 (as the reference implementation does). Atomic
// (temp file + rename). `data` must hold elements * dtype size bytes.
struct StWriteTensor {
  std::string name;
  StDType dtype = StDType::kF32;
  std::vector<std::int64_t> shape;
  std::vector<std::uint8_t> data;
};
void write_safetensors(const std::string& path, const std::vector<StWriteTensor>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

// All tensors of a checkpoint folder, by name.
class SafetensorsCheckpoint {
 public:
  // model.safetensors.index.json if present, else model.safetensors; throws SafetensorsError
  // naming the folder when neither exists (PyTorch .bin checkpoints are not read).
  explicit SafetensorsCheckpoint(const std::string& folder);

  const std::string& folder() const { return folder_; }
  const StTensor* find(const std::string& name) const;  // nullptr if absent
  std::vector<std::string> names() const;               // sorted
  std::size_t shards() const { return files_.size(); }
  // Pins the mapping of the file that holds `t`.
  std::shared_ptr<const void> mapping_of(const StTensor& t) const;
  // SafetensorsFile::release for the file that holds t.
  void release(const StTensor& t) const;

 private:
  std::string folder_;
  std::vector<std::shared_ptr<const SafetensorsFile>> files_;
  std::map<std::string, std::pair<std::size_t, const StTensor*>> tensors_;  // -> file index
};

}  // namespace tritbench::models
