#include "models/safetensors.h"

#include "models/file_map.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "harness/lib/io.h"
#include "models/f16.h"

namespace tritbench::models {

namespace {

// The reference implementation refuses headers above 100 MB; so does this reader (a real header
// is a few hundred KB even for sharded 70B checkpoints).
constexpr std::uint64_t kMaxHeader = 100'000'000;

struct DTypeInfo {
  StDType type;
  const char* name;
  std::size_t size;
};
constexpr DTypeInfo kDTypes[] = {
    {StDType::kBool, "BOOL", 1},      {StDType::kU8, "U8", 1},          {StDType::kI8, "I8", 1},
    {StDType::kF8E4M3, "F8_E4M3", 1}, {StDType::kF8E5M2, "F8_E5M2", 1}, {StDType::kI16, "I16", 2},
    {StDType::kU16, "U16", 2},        {StDType::kF16, "F16", 2},        {StDType::kBF16, "BF16", 2},
    {StDType::kI32, "I32", 4},        {StDType::kU32, "U32", 4},        {StDType::kF32, "F32", 4},
    {StDType::kF64, "F64", 8},        {StDType::kI64, "I64", 8},        {StDType::kU64, "U64", 8},
};

std::string quote(const std::string& s) {
  std::string out = "'";
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "'";
}

std::string str(std::uint64_t v) { return std::to_string(v); }

}  // namespace

const char* st_dtype_name(StDType t) {
  for (const auto& d : kDTypes)
    if (d.type == t) return d.name;
  return "?";
}

std::size_t st_dtype_size(StDType t) {
  for (const auto& d : kDTypes)
    if (d.type == t) return d.size;
  return 0;
}

bool st_dtype_readable(StDType t) {
  return t == StDType::kBF16 || t == StDType::kF16 || t == StDType::kF32 || t == StDType::kU8 ||
         t == StDType::kI8;
}

std::int64_t StTensor::elements() const {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;  // validated not to overflow at parse time
  return n;
}

std::string StTensor::shape_str() const {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

float StTensor::get(std::int64_t i) const {
  switch (dtype) {
    case StDType::kF32: {
      float f;
      std::memcpy(&f, data + 4 * i, 4);
      return f;
    }
    case StDType::kF16:
    case StDType::kBF16: {
      std::uint16_t h;
      std::memcpy(&h, data + 2 * i, 2);
      return dtype == StDType::kF16 ? f16_to_f32(h) : bf16_to_f32(h);
    }
    case StDType::kU8:
      return static_cast<float>(data[i]);
    case StDType::kI8:
      return static_cast<float>(static_cast<std::int8_t>(data[i]));
    default:
      throw SafetensorsError(file + ": tensor " + quote(name) + " has dtype " +
                             st_dtype_name(dtype) + " (expected BF16, F16, F32, U8 or I8)");
  }
}

void StTensor::to_float(std::int64_t i0, std::int64_t n, float* out) const {
  const std::uint8_t* p = data;
  switch (dtype) {
    case StDType::kF32:
      std::memcpy(out, p + 4 * i0, static_cast<std::size_t>(n) * 4);
      return;
    case StDType::kF16:
    case StDType::kBF16: {
      const bool half = dtype == StDType::kF16;
      for (std::int64_t i = 0; i < n; ++i) {
        std::uint16_t h;
        std::memcpy(&h, p + 2 * (i0 + i), 2);
        out[i] = half ? f16_to_f32(h) : bf16_to_f32(h);
      }
      return;
    }
    default:
      for (std::int64_t i = 0; i < n; ++i) out[i] = get(i0 + i);
  }
}

// ------------------------------------------------------------------------------------------------
// Reading one file

std::shared_ptr<const SafetensorsFile> SafetensorsFile::open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw SafetensorsError(path + ": cannot open: " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw SafetensorsError(path + ": not a readable regular file (expected a .safetensors file)");
  }
  const auto size = static_cast<std::uint64_t>(st.st_size);
  auto map = std::make_shared<FileMap>();
  std::shared_ptr<SafetensorsFile> f(new SafetensorsFile());
  f->path_ = path;
  if (size > 0) {
    map->addr = ::mmap(nullptr, static_cast<std::size_t>(size), PROT_READ, MAP_PRIVATE, fd, 0);
    const int err = errno;
    if (map->addr == MAP_FAILED) {
      map->addr = nullptr;
      ::close(fd);
      throw SafetensorsError(path + ": cannot mmap " + str(size) + " bytes: " + std::strerror(err));
    }
    map->size = static_cast<std::size_t>(size);
  }
  ::close(fd);
  f->mapping_ = map;
  f->mmapped_ = true;
  f->parse_all(static_cast<const std::uint8_t*>(map->addr), size);
  return f;
}

std::shared_ptr<const SafetensorsFile> SafetensorsFile::parse(std::vector<std::uint8_t> bytes,
                                                              const std::string& name) {
  auto buf = std::make_shared<std::vector<std::uint8_t>>(std::move(bytes));
  std::shared_ptr<SafetensorsFile> f(new SafetensorsFile());
  f->path_ = name;
  f->mapping_ = buf;
  f->parse_all(buf->data(), buf->size());
  return f;
}

void SafetensorsFile::fail(const std::string& what) const {
  throw SafetensorsError(path_ + ": " + what);
}

const StTensor* SafetensorsFile::find(const std::string& name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

void SafetensorsFile::parse_all(const std::uint8_t* p, std::uint64_t size) {
  if (size < 8)
    fail("header: the file has " + str(size) +
         " bytes, expected at least 8 (the header length) (not a safetensors file, or truncated)");
  std::uint64_t n;
  std::memcpy(&n, p, 8);
  if (n > size - 8)
    fail("header: length field is " + str(n) + " bytes but only " + str(size - 8) +
         " bytes follow (truncated file, or not a safetensors file)");
  if (n > kMaxHeader)
    fail("header: length field is " + str(n) + " bytes, expected at most " + str(kMaxHeader));
  if (n < 2 || p[8] != '{')
    fail("header: expected a JSON object starting with '{' right after the 8-byte length");

  // Parse, noting repeated keys of the top-level object (nlohmann would keep the last silently).
  std::set<std::string> seen;
  std::string duplicate;
  using Json = nlohmann::ordered_json;  // keeps the header's order
  const auto cb = [&](int depth, Json::parse_event_t ev, Json& parsed) {
    if (ev == Json::parse_event_t::key && depth == 1) {
      const std::string k = parsed.get<std::string>();
      if (!seen.insert(k).second && duplicate.empty()) duplicate = k;
    }
    return true;
  };
  const char* begin = reinterpret_cast<const char*>(p + 8);
  const Json h = Json::parse(begin, begin + n, cb, /*allow_exceptions=*/false);
  if (h.is_discarded() || !h.is_object())
    fail("header: the " + str(n) + " header bytes are not a valid JSON object");
  if (!duplicate.empty()) fail("header: tensor " + quote(duplicate) + " is listed twice");

  const std::uint64_t data_start = 8 + n, data_size = size - data_start;
  for (auto it = h.begin(); it != h.end(); ++it) {
    const std::string& name = it.key();
    const Json& v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object()) fail("header: '__metadata__' is not an object of strings");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string())
          fail("header: '__metadata__' entry " + quote(m.key()) + " is not a string");
        metadata_[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    const std::string where = "tensor " + quote(name);
    if (!v.is_object()) fail(where + ": expected an object with dtype, shape and data_offsets");
    StTensor t;
    t.name = name;
    t.file = path_;
    // dtype
    const auto d = v.find("dtype");
    if (d == v.end() || !d->is_string()) fail(where + ": 'dtype' is missing or not a string");
    const std::string ds = d->get<std::string>();
    bool known = false;
    for (const auto& k : kDTypes)
      if (ds == k.name) {
        t.dtype = k.type;
        known = true;
      }
    if (!known)
      fail(where + ": dtype " + quote(ds) +
           " is not a safetensors dtype (expected BF16, F16, F32, U8, I8, ...)");
    // shape
    const auto s = v.find("shape");
    if (s == v.end() || !s->is_array()) fail(where + ": 'shape' is missing or not an array");
    if (s->size() > 8) fail(where + ": 'shape' has " + str(s->size()) + " dimensions (at most 8)");
    std::uint64_t elements = 1;
    for (const auto& e : *s) {
      if (!e.is_number_unsigned() && !(e.is_number_integer() && e.get<std::int64_t>() >= 0))
        fail(where + ": 'shape' " + e.dump() + " is not a non-negative integer");
      const auto dim = e.get<std::uint64_t>();
      if (dim > (std::uint64_t{1} << 40) || (dim != 0 && elements > (std::uint64_t{1} << 62) / dim))
        fail(where + ": 'shape' " + s->dump() + " has too many elements");
      elements *= dim;
      t.shape.push_back(static_cast<std::int64_t>(dim));
    }
    // data_offsets
    const auto o = v.find("data_offsets");
    if (o == v.end() || !o->is_array() || o->size() != 2 || !(*o)[0].is_number_unsigned() ||
        !(*o)[1].is_number_unsigned())
      fail(where + ": 'data_offsets' must be [begin, end] with non-negative integers");
    t.begin = (*o)[0].get<std::uint64_t>();
    t.end = (*o)[1].get<std::uint64_t>();
    if (t.begin > t.end)
      fail(where + ": 'data_offsets' [" + str(t.begin) + ", " + str(t.end) + "] has begin > end");
    if (t.end > data_size)
      fail(where + ": 'data_offsets' end " + str(t.end) + " is past the data buffer of " +
           str(data_size) + " bytes (truncated file?)");
    // elements <= 2^62 times a dtype of up to 8 bytes can wrap around 64 bits (to 0 for
    // [2^40, 2^22] F32): such a shape needs more bytes than any file has.
    std::uint64_t want;
    if (__builtin_mul_overflow(elements, std::uint64_t{st_dtype_size(t.dtype)}, &want))
      fail(where + ": 'shape' " + s->dump() + " of " + ds +
           " has a byte size that overflows 64 bits");
    if (t.end - t.begin != want)
      fail(where + ": 'data_offsets' span " + str(t.end - t.begin) + " bytes, but shape " +
           s->dump() + " of " + ds + " needs " + str(want));
    t.data = p + data_start + t.begin;
    index_[name] = tensors_.size();
    tensors_.push_back(std::move(t));
  }
  // No two tensors may share bytes.
  std::vector<const StTensor*> by_offset;
  for (const auto& t : tensors_)
    if (t.end > t.begin) by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const StTensor* a, const StTensor* b) { return a->begin < b->begin; });
  for (std::size_t i = 1; i < by_offset.size(); ++i)
    if (by_offset[i]->begin < by_offset[i - 1]->end)
      fail("tensor " + quote(by_offset[i]->name) + ": 'data_offsets' [" + str(by_offset[i]->begin) +
           ", " + str(by_offset[i]->end) + "] overlap tensor " + quote(by_offset[i - 1]->name) +
           "'s [" + str(by_offset[i - 1]->begin) + ", " + str(by_offset[i - 1]->end) + "]");
}

// ------------------------------------------------------------------------------------------------
// Writing

void write_safetensors(const std::string& path, const std::vector<StWriteTensor>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json h = nlohmann::ordered_json::object();
  if (!metadata.empty()) h["__metadata__"] = metadata;
  std::uint64_t off = 0;
  for (const auto& t : tensors) {
    std::uint64_t n = 1;
    for (auto d : t.shape) n *= static_cast<std::uint64_t>(d);
    if (n * st_dtype_size(t.dtype) != t.data.size())
      throw std::invalid_argument("write_safetensors: tensor '" + t.name + "' has " +
                                  str(t.data.size()) + " bytes, its shape needs " +
                                  str(n * st_dtype_size(t.dtype)));
    h[t.name] = {{"dtype", st_dtype_name(t.dtype)},
                 {"shape", t.shape},
                 {"data_offsets", {off, off + t.data.size()}}};
    off += t.data.size();
  }
  std::string header = h.dump();
  header.append((8 - header.size() % 8) % 8, ' ');
  std::string out(8, '\0');
  const std::uint64_t len = header.size();
  std::memcpy(out.data(), &len, 8);
  out += header;
  for (const auto& t : tensors) out.append(t.data.begin(), t.data.end());
  write_file_atomic(path, out);
}

// ------------------------------------------------------------------------------------------------
// Checkpoint folders

SafetensorsCheckpoint::SafetensorsCheckpoint(const std::string& folder) : folder_(folder) {
  namespace fs = std::filesystem;
  const fs::path dir(folder);
  const fs::path index = dir / "model.safetensors.index.json";
  const fs::path single = dir / "model.safetensors";
  std::error_code ec;
  if (fs::exists(index, ec)) {
    std::ifstream f(index);
    std::stringstream ss;
    ss << f.rdbuf();
    if (!f) throw SafetensorsError(index.string() + ": cannot read");
    const nlohmann::json j = nlohmann::json::parse(ss.str(), nullptr, false);
    if (j.is_discarded() || !j.is_object())
      throw SafetensorsError(index.string() + ": not a valid JSON object");
    const auto wm = j.find("weight_map");
    if (wm == j.end() || !wm->is_object() || wm->empty())
      throw SafetensorsError(index.string() +
                             ": 'weight_map' is missing or empty (expected {tensor: shard file})");
    std::map<std::string, std::size_t> shard_index;
    for (auto it = wm->begin(); it != wm->end(); ++it) {
      if (!it.value().is_string())
        throw SafetensorsError(index.string() + ": 'weight_map' entry " + quote(it.key()) +
                               " is not a file name");
      const std::string shard = it.value().get<std::string>();
      if (shard.empty() || shard.find('/') != std::string::npos || shard == "." || shard == "..")
        throw SafetensorsError(index.string() + ": 'weight_map' entry " + quote(it.key()) +
                               " names " + quote(shard) +
                               " (expected a file name in the checkpoint folder)");
      auto [si, fresh] = shard_index.emplace(shard, files_.size());
      if (fresh) files_.push_back(SafetensorsFile::open((dir / shard).string()));
      const SafetensorsFile& file = *files_[si->second];
      const StTensor* t = file.find(it.key());
      if (!t)
        throw SafetensorsError(index.string() + ": 'weight_map' puts tensor " + quote(it.key()) +
                               " in " + shard + ", which does not contain it");
      tensors_[it.key()] = {si->second, t};
    }
  } else if (fs::exists(single, ec)) {
    files_.push_back(SafetensorsFile::open(single.string()));
    for (const auto& t : files_[0]->tensors()) tensors_[t.name] = {0, &t};
  } else {
    std::string hint;
    if (fs::exists(dir / "pytorch_model.bin", ec) ||
        fs::exists(dir / "pytorch_model.bin.index.json", ec))
      hint =
          " (this folder has a PyTorch .bin checkpoint, which tritbench does not read: save it "
          "as safetensors first)";
    throw SafetensorsError(folder + ": no model.safetensors or model.safetensors.index.json" +
                           hint);
  }
}

const StTensor* SafetensorsCheckpoint::find(const std::string& name) const {
  const auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : it->second.second;
}

std::vector<std::string> SafetensorsCheckpoint::names() const {
  std::vector<std::string> v;
  for (const auto& [k, _] : tensors_) v.push_back(k);
  return v;
}

void SafetensorsFile::release(const StTensor& t) const {
  if (mmapped_) drop_file_pages(t.data, t.bytes());
}

void SafetensorsCheckpoint::release(const StTensor& t) const {
  for (const auto& f : files_)
    if (f->path() == t.file) f->release(t);
}

std::shared_ptr<const void> SafetensorsCheckpoint::mapping_of(const StTensor& t) const {
  for (const auto& f : files_)
    if (f->path() == t.file) return f->mapping();
  return nullptr;
}

}  // namespace tritbench::models
